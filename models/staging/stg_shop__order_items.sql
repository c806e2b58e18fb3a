{{ config(materialized='incremental', incremental_strategy='append') }}
-- Order lines, exact duplicates collapsed. line_amount = quantity x unit_price - discount
-- (the discount is an amount for the whole line). With var as_of set, only the lines of orders
-- sent by then (point in time: a line has no timestamp of its own, its order has).
select distinct
    order_id,
    line_number,
    product_id,
    batch_id,
    quantity,
    unit_price,
    discount,
    cast(quantity * unit_price - coalesce(discount, 0) as decimal(18, 4)) as line_amount
from {{ source('shop', 'order_items') }}
where order_id is not null
{%- if var('as_of', none) %}
    and order_id in (
        select order_id from {{ source('shop', 'orders') }}
        where {{ known_at_as_of('updated_at') }}
    )
{%- endif %}
{%- if is_incremental() %}
-- Incremental: the landing keeps every row it was sent, so what is new is what the table
-- does not hold yet (exact duplicates collapse, as in a full build).
except
select * from {{ this }}
{%- endif %}
