{{ config(materialized='incremental', unique_key='order_id', incremental_strategy='delete+insert') }}
-- One row per order line, with its order's date, customer, channel and validity.
-- Incremental: all the lines of an order are written again when the order or one of its
-- lines arrived or changed since the last run (macros/incremental.sql), or when a product
-- of the order is no longer named, categorised or costed as its stored lines say. Only the
-- products sent since this table's last build can be (new_source_rows): most nights none,
-- and the stored lines are not read at all.
{%- if is_incremental() %}
with stale_products as (
    select t.order_id
    from {{ this }} as t
    left join {{ ref('stg_shop__products') }} as p on p.product_id = t.product_id
    where t.product_id in (select product_id from {{ new_source_rows('shop', 'products') }})
        and (
            t.product_name is distinct from p.product_name
            or t.category is distinct from p.category
            or t.line_cost is distinct from cast(t.quantity * p.unit_cost as decimal(18, 4))
        )
)
{%- endif %}
select
    i.order_id,
    i.line_number,
    o.customer_id,
    o.order_date,
    cast(date_trunc('month', o.order_date) as date) as order_month,
    o.channel,
    o.status,
    o.is_valid,
    i.product_id,
    p.product_name,
    p.category,
    i.batch_id,
    i.quantity,
    i.unit_price,
    i.discount,
    i.line_amount,
    cast(i.quantity * p.unit_cost as decimal(18, 4)) as line_cost
from {{ ref('stg_shop__order_items') }} as i
inner join {{ ref('stg_shop__orders') }} as o on o.order_id = i.order_id
left join {{ ref('stg_shop__products') }} as p on p.product_id = i.product_id
{%- if is_incremental() %}
where i.order_id in (
    {{ changed_keys('order_id', [ref('stg_shop__orders'), ref('stg_shop__order_items')]) }}
    union
    select order_id from stale_products
)
{%- endif %}
