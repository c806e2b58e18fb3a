select
    id as order_id,
    user_id as customer_id,
    order_date,
    {{ dbt.date_trunc('month', 'order_date') }} as order_month,
    status
from {{ ref('raw_orders') }}
