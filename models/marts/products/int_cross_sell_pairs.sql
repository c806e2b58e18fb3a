{{ config(
    materialized=refreshed_by_key() | trim,
    unique_key=['customer_id', 'product_b'], incremental_strategy='delete+insert',
    post_hook="{{ delete_keys_not_written(['customer_id', 'product_b'], cross_sell_keys('product_b')) }}",
    publish=false,
) }}  -- intermediate: not for BI
-- next_purchase_cross_sell's pairs, per customer: one row per (customer, product A in their
-- first valid order, product B in a later one), A <> B (int_cross_sell_customers).
-- Incremental (delete+insert on customer and product B), as int_cross_sell_customers: a
-- customer whose first or second order changed gets all their pairs again, anyone else
-- those whose product B is a product of tonight's orders (only its in_later can have
-- changed; the first order's products are as they were). A key left without a pair loses
-- its old ones (the post_hook).
-- depends_on: {{ ref('int_order_sequence') }} {{ ref('int_order_products') }} {{ ref('fct_order_items') }}
{%- set inc = is_incremental() %}
with
{%- if inc %}
{% call cross_sell_restated() %}{% endcall %}
{%- endif %}

products as (
    select customer_id, product_id, in_first, in_later
    from {{ ref('int_cross_sell_customers') }}
    {%- if inc %}
    where customer_id in (select customer_id from whole union select customer_id from touched)
    {%- endif %}
)

select f.customer_id, f.product_id as product_a, l.product_id as product_b
from products as f
inner join products as l on l.customer_id = f.customer_id and l.product_id <> f.product_id
{%- if inc %}
left join touched as t on t.customer_id = l.customer_id and t.product_id = l.product_id
{%- endif %}
where f.in_first and l.in_later
{%- if inc %}
    and (f.customer_id in (select customer_id from whole) or t.customer_id is not null)
{%- endif %}
