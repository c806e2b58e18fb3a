-- One row per order line, with its order's date, customer, channel and validity.
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
