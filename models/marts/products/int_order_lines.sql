{{ config(
    materialized='incremental', unique_key='order_id', incremental_strategy='delete+insert',
    publish=false,
) }}  -- intermediate: not for BI
-- Shared product logic (docs/metrics.md "Products"): one row per line of every order (its
-- validity beside it: int_product_lines keeps the lines of valid orders placed on or before
-- the as-of date), with the returns matched to it and its order's complaint flag.
-- A return names an order and a product, not a line. It is matched to a line of that product
-- in that order: the k-th return of (order, product) (by returned_at, then return_id) goes to
-- the k-th line of that product (by line_number); returns beyond the number of such lines go
-- to the last one. So n returns mark min(n, lines) lines as returned, and every refund of a
-- product the order contains lands on exactly one line (and its batch). A return of a
-- product the order does not contain (or without a product) matches no line: it is still
-- taken off net revenue (product_sales_monthly, by the returned product's category) but is
-- no returned line of any product or batch. Returns and complaints count whenever they
-- arrived, as fct_orders' refunds and complaints do.
-- Incremental: the lines of the orders whose lines, order row or returns changed in this run
-- are matched again (macros/incremental.sql). Every order keeps its lines whatever its status
-- becomes, so rewriting an order's lines (delete+insert) never leaves one behind.
{%- set changed = changed_keys('order_id', [
    ref('fct_order_items'), ref('fct_orders'), ref('stg_shop__returns'),
]) if is_incremental() else none %}
with lines as (
    select
        i.order_id,
        i.line_number,
        i.customer_id,
        i.order_date,
        i.order_month,
        i.product_id,
        i.product_name,
        i.category,
        i.batch_id,
        i.is_valid,
        coalesce(i.quantity, 0) as quantity,
        cast(coalesce(i.line_amount, 0) as decimal(18, 4)) as line_amount,
        row_number() over (
            partition by i.order_id, i.product_id order by i.line_number
        ) as product_line_number,
        count(*) over (partition by i.order_id, i.product_id) as product_lines
    from {{ ref('fct_order_items') }} as i
    {%- if changed %}
    where i.order_id in {{ changed }}
    {%- endif %}
),

returns as (
    select
        order_id,
        product_id,
        coalesce(refund_amount, 0) as refund_amount,
        row_number() over (
            partition by order_id, product_id order by returned_at, return_id
        ) as return_number
    from {{ ref('stg_shop__returns') }}
    where product_id is not null
    {%- if changed %}
        and order_id in {{ changed }}
    {%- endif %}
),

matched as (
    select
        l.order_id,
        l.line_number,
        count(*) as returns,
        sum(r.refund_amount) as refund_amount
    from lines as l
    inner join returns as r
        on r.order_id = l.order_id
        and r.product_id = l.product_id
        and least(r.return_number, l.product_lines) = l.product_line_number
    group by l.order_id, l.line_number
)

select
    l.order_id,
    l.line_number,
    l.customer_id,
    l.order_date,
    l.order_month,
    l.product_id,
    l.product_name,
    l.category,
    l.batch_id,
    l.quantity,
    l.line_amount,
    coalesce(m.returns, 0) as returns,
    coalesce(m.returns, 0) > 0 as is_returned,
    cast(coalesce(m.refund_amount, 0) as decimal(18, 4)) as refund_amount,
    coalesce(o.has_complaint, false) as order_has_complaint,
    l.is_valid
from lines as l
left join matched as m on m.order_id = l.order_id and m.line_number = l.line_number
left join {{ ref('fct_orders') }} as o on o.order_id = l.order_id
