-- Cross-sell affinity of product categories (METRICS.md "Products"): one row per ORDERED
-- pair of different categories (category_a, category_b) bought in the same order, both
-- directions present. Baskets are the valid orders placed on or before the as-of date with
-- at least one line whose product has a category (a product missing from the catalogue has
-- none); a category on several lines of an order counts once for it.
-- - support = orders with both / orders; support_a, support_b = each category's own share.
-- - confidence_a_to_b = orders with both / orders with A (and confidence_b_to_a the reverse).
-- - lift = confidence(A -> B) / P(B) = support / (support_a x support_b) (symmetric).
-- Pairs in fewer than var affinity_min_orders orders together are left out.
{%- set min_orders = var('affinity_min_orders') %}
{%- if min_orders is not number or min_orders < 1 %}
{{ exceptions.raise_compiler_error("var affinity_min_orders must be a whole number >= 1, got " ~ min_orders) }}
{%- endif %}
with as_of as (
    select as_of_date from {{ ref('as_of') }}
),

baskets as (
    select distinct i.order_id, i.category as item
    from {{ ref('fct_order_items') }} as i
    cross join as_of as a
    where i.is_valid and i.order_date <= a.as_of_date and i.category is not null
),

totals as (
    select count(distinct order_id) as orders from baskets
),

item_orders as (
    select item, count(*) as orders from baskets group by item
),

pairs as (
    select a.item as item_a, b.item as item_b, count(*) as orders_both
    from baskets as a
    inner join baskets as b on b.order_id = a.order_id and b.item <> a.item
    group by a.item, b.item
    having count(*) >= {{ min_orders }}
)

select
    p.item_a as category_a,
    p.item_b as category_b,
    t.orders,
    ia.orders as orders_a,
    ib.orders as orders_b,
    p.orders_both,
    cast(p.orders_both / t.orders as double) as support,
    cast(ia.orders / t.orders as double) as support_a,
    cast(ib.orders / t.orders as double) as support_b,
    cast(p.orders_both / ia.orders as double) as confidence_a_to_b,
    cast(p.orders_both / ib.orders as double) as confidence_b_to_a,
    cast(p.orders_both * t.orders / (ia.orders * ib.orders) as double) as lift
from pairs as p
cross join totals as t
inner join item_orders as ia on ia.item = p.item_a
inner join item_orders as ib on ib.item = p.item_b
