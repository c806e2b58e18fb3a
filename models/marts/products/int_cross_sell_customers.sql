{{ config(
    materialized=refreshed_by_key() | trim,
    unique_key=['customer_id', 'product_id'], incremental_strategy='delete+insert',
    post_hook="{{ delete_keys_not_written(['customer_id', 'product_id'], cross_sell_keys('product_id')) }}",
    publish=false,
) }}  -- intermediate: not for BI
-- What next_purchase_cross_sell counts, per customer with a valid order: one row per product
-- (never NULL) in their first valid order or in a later one (orders numbered by
-- int_order_sequence), with in_first / in_later, and whether the customer has a later valid
-- order at all (has_later_order, the same on each of the customer's rows). A customer whose
-- orders hold no product at all has no row here; returners are counted from
-- int_order_sequence by the mart.
-- Incremental (delete+insert on customer and product, macros/marts_refresh.sql): a customer
-- whose first or second valid order changed tonight (or who lost a later order for good)
-- gets all their rows again; anyone else
-- only tonight's (customer, product) pairs (tonight_customer_products: a new later order
-- changes in_later of its products, nothing else). A row left without a
-- valid order loses its old one (the post_hook).
-- depends_on: {{ ref('fct_order_items') }}
{%- set inc = is_incremental() %}
with
{%- if inc %}
{% call cross_sell_restated() %}
    union
    -- a customer whose second order was their last and is gone: int_order_sequence numbers
    -- none of their orders again, but has_later_order turns false on all their rows
    select s.customer_id
    from {{ this }} as s
    where s.has_later_order
        and s.customer_id in (select customer_id from touched)
        and s.customer_id not in (
            select customer_id from {{ ref('int_order_sequence') }} where order_number = 2
        )
{%- endcall %}
{%- endif %}

numbered as (
    select order_id, customer_id, order_number
    from {{ ref('int_order_sequence') }}
    {%- if inc %}
    where customer_id in (select customer_id from whole union select customer_id from touched)
    {%- endif %}
),

customers as (
    select customer_id, max(order_number) > 1 as has_later_order
    from numbered
    group by customer_id
)

select
    n.customer_id,
    p.product_id,
    bool_or(n.order_number = 1) as in_first,
    bool_or(n.order_number > 1) as in_later,
    any_value(c.has_later_order) as has_later_order
from numbered as n
inner join {{ ref('int_order_products') }} as p on p.order_id = n.order_id
inner join customers as c on c.customer_id = n.customer_id
{%- if inc %}
left join touched as t on t.customer_id = n.customer_id and t.product_id = p.product_id
{%- endif %}
where p.product_id is not null
{%- if inc %}
    and (n.customer_id in (select customer_id from whole) or t.customer_id is not null)
{%- endif %}
group by n.customer_id, p.product_id
