{{ config(
    materialized=refreshed_by_key() | trim,
    unique_key='month', incremental_strategy='delete+insert',
    post_hook="{{ delete_keys_not_written('month', changed_keys('order_month', [ref('int_order_lines')])) }}",
    publish=false,
) }}  -- intermediate: not for BI
-- What product_quality and batch_quality count, per order month x product x batch (a batch
-- id missing is the batch 'unknown'), from int_product_lines: small (months x products x
-- batches), so the two marts, whose rates are over every line of a product, sum it up each
-- night instead of reading every line. Every count adds up over months: an order lies in one
-- month, so its distinct orders of a month are distinct from another month's.
-- Incremental by month: the order months of the lines int_order_lines wrote or replaced
-- tonight (a late return or complaint restates its order's month, a cancelled order its own).
-- depends_on: {{ ref('int_order_lines') }}
{%- set months = changed_keys('order_month', [ref('int_order_lines')]) if is_incremental() else none %}
with lines as (
    select
        * exclude (batch_id),
        coalesce(batch_id, 'unknown') as batch_id,
        batch_id is not null as has_batch_id
    from {{ ref('int_product_lines') }}
    where product_id is not null
    {%- if months %}
        and order_month in {{ months }}
    {%- endif %}
),

-- a product's distinct orders of the month, whatever the batch
product_orders as (
    select
        order_month,
        product_id,
        count(distinct order_id) as product_valid_orders,
        count(distinct order_id) filter (where order_has_complaint) as product_complaint_orders
    from lines
    group by order_month, product_id
)

select
    l.order_month as month,
    l.product_id,
    l.batch_id,
    bool_or(l.has_batch_id) as has_batch_id,
    min(l.product_name) as product_name,
    min(l.category) as category,
    min(l.order_date) as first_order_date,
    max(l.order_date) as last_order_date,
    count(*) as lines,
    cast(sum(l.quantity) as bigint) as units_sold,
    count(distinct l.order_id) as valid_orders,
    count(*) filter (where l.is_returned) as returned_lines,
    cast(coalesce(sum(l.quantity) filter (where l.is_returned), 0) as bigint) as returned_units,
    cast(sum(l.refund_amount) as decimal(18, 4)) as refund_amount,
    count(distinct l.order_id) filter (where l.order_has_complaint) as complaint_orders,
    cast(sum(l.line_amount) as decimal(18, 4)) as gross_revenue,
    any_value(p.product_valid_orders) as product_valid_orders,
    any_value(p.product_complaint_orders) as product_complaint_orders
from lines as l
inner join product_orders as p on p.order_month = l.order_month and p.product_id = l.product_id
group by l.order_month, l.product_id, l.batch_id
