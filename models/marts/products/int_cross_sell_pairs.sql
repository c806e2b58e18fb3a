{{ config(
    materialized=refreshed_by_key() | trim,
    unique_key='customer_id', incremental_strategy='delete+insert',
    post_hook="{{ delete_keys_not_written('customer_id', changed_keys('customer_id', [ref('int_cross_sell_customers')])) }}",
    publish=false,
) }}  -- intermediate: not for BI
-- next_purchase_cross_sell's pairs, per customer: one row per (customer, product A in their
-- first valid order, product B in a later one), A <> B (int_cross_sell_customers).
-- Incremental (delete+insert on customer_id): the customers int_cross_sell_customers wrote
-- or replaced tonight; a customer left without a pair loses their old ones (the post_hook).
with products as (
    select customer_id, product_id, in_first, in_later
    from {{ ref('int_cross_sell_customers') }}
    {%- if is_incremental() %}
    where customer_id in {{ changed_keys('customer_id', [ref('int_cross_sell_customers')]) }}
    {%- endif %}
)

select f.customer_id, f.product_id as product_a, l.product_id as product_b
from products as f
inner join products as l on l.customer_id = f.customer_id and l.product_id <> f.product_id
where f.in_first and l.in_later
