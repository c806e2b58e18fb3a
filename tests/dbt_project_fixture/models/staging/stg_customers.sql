select
    id as customer_id,
    first_name,
    last_name,
    region,
    tier
from {{ ref('raw_customers') }}
