{{ config(materialized='ephemeral') }}
-- Cross-sell affinity (docs/metrics.md "Products") at two levels, for product_affinity and
-- category_affinity: one row per level and ORDERED pair of different items bought in the
-- same order, both directions present. Baskets are the valid orders placed on or before
-- the as-of date with at least one line naming the item (a product id; a category, which
-- a product missing from the catalogue has none of); an item on several lines of an order
-- counts once for it.
-- - support = orders with both / orders; support_a, support_b = each item's own share.
-- - confidence_a_to_b = orders with both / orders with A (and confidence_b_to_a the reverse).
-- - lift = confidence(A -> B) / P(B) = support / (support_a x support_b) (symmetric).
-- Pairs in fewer than var affinity_min_orders orders together are left out.
-- The counts are summed over months from int_affinity_months (incremental by month).
{%- set min_orders = var('affinity_min_orders') %}
{%- if min_orders is not number or min_orders < 1 %}
{{ exceptions.raise_compiler_error("var affinity_min_orders must be a whole number >= 1, got " ~ min_orders) }}
{%- endif %}
with months as (
    select * from {{ ref('int_affinity_months') }}
),

totals as (
    select level, cast(sum(orders) as bigint) as orders
    from months where kind = 'total' group by level
),

item_orders as (
    select level, item_a as item, cast(sum(orders) as bigint) as orders
    from months where kind = 'item' group by level, item_a
),

pairs as (
    select level, item_a, item_b, cast(sum(orders) as bigint) as orders_both
    from months
    where kind = 'pair'
    group by level, item_a, item_b
    having sum(orders) >= {{ min_orders }}
)

select
    p.level,
    p.item_a,
    p.item_b,
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
inner join totals as t on t.level = p.level
inner join item_orders as ia on ia.level = p.level and ia.item = p.item_a
inner join item_orders as ib on ib.level = p.level and ib.item = p.item_b
