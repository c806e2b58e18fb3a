select distinct
    sales_rep_id,
    rep_name,
    team,
    region
from {{ source('shop', 'sales_reps') }}
where sales_rep_id is not null
