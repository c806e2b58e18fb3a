{{ config(materialized='incremental', incremental_strategy='append') }}
-- Refunds (those made by the as-of date when var as_of is set).
select distinct
    return_id,
    order_id,
    product_id,
    returned_at,
    cast(returned_at as date) as return_date,
    refund_amount,
    reason
from {{ source('shop', 'returns') }}
where return_id is not null and {{ known_at_as_of('returned_at') }}
{%- if is_incremental() %}
-- Incremental: the landing keeps every row it was sent, so what is new is what the table
-- does not hold yet (exact duplicates collapse, as in a full build).
except
select * from {{ this }}
{%- endif %}
