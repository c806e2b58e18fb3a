{{ config(
    materialized=refreshed_by_key() | trim,
    unique_key='customer_id', incremental_strategy='delete+insert',
    post_hook="{{ delete_keys_not_written('customer_id', changed_keys('customer_id', [ref('int_order_sequence'), ref('int_order_products')])) }}",
    publish=false,
) }}  -- intermediate: not for BI
-- What next_purchase_cross_sell counts, per customer with a valid order: one row per product
-- (never NULL) in their first valid order or in a later one (orders numbered by
-- int_order_sequence), with in_first / in_later, and whether the customer has a later valid
-- order at all (has_later_order, the same on each of the customer's rows). A customer whose
-- orders hold no product at all has no row here; returners are counted from
-- int_order_sequence by the mart.
-- Incremental (delete+insert on customer_id): the customers whose orders int_order_sequence
-- or whose order lines int_order_products wrote or replaced tonight; a customer left without
-- a row loses their old ones (the post_hook).
{%- set changed = changed_keys('customer_id', [
    ref('int_order_sequence'), ref('int_order_products'),
]) if is_incremental() else none %}
with numbered as (
    select order_id, customer_id, order_number
    from {{ ref('int_order_sequence') }}
    {%- if changed %}
    where customer_id in {{ changed }}
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
where p.product_id is not null
group by n.customer_id, p.product_id
