{{ config(
    materialized=refreshed_by_key() | trim,
    unique_key='order_id', incremental_strategy='delete+insert',
    post_hook="{{ delete_keys_not_written('order_id', changed_keys('order_id', [ref('fct_order_items')])) }}",
    publish=false,
) }}  -- intermediate: not for BI
-- One row per (order, product) of the order lines: an order with two lines of one product
-- counts once. is_counted: a valid line of it on or before the as-of date. feedback_by_product
-- and next_purchase_cross_sell read this instead of grouping every line each night.
-- Incremental (delete+insert on order_id): the orders whose lines fct_order_items wrote or
-- replaced tonight; an order left without lines loses its rows (the post_hook).
select
    i.order_id,
    i.product_id,
    any_value(i.customer_id) as customer_id,
    bool_or(i.is_valid and i.order_date <= a.as_of_date) as is_counted
from {{ ref('fct_order_items') }} as i
cross join {{ ref('as_of') }} as a
{%- if is_incremental() %}
where i.order_id in {{ changed_keys('order_id', [ref('fct_order_items')]) }}
{%- endif %}
group by i.order_id, i.product_id
