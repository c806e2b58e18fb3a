{{ config(
    materialized=refreshed_by_key() | trim,
    unique_key='month', incremental_strategy='delete+insert',
    post_hook="{{ delete_keys_not_written('month', changed_keys('order_month', [ref('fct_order_items')])) }}",
    publish=false,
) }}  -- intermediate: not for BI
-- What int_affinity_pairs counts (docs/metrics.md "Products"), per order month: at each level
-- (product, category), the baskets (kind 'total'), each item's baskets ('item') and each
-- ORDERED pair's baskets ('pair'); baskets are the valid orders placed on or before the as-of
-- date with a line naming the item. An order lies in one month, so the counts add up over
-- months: the affinity marts sum this small table (months x pairs) instead of pairing every
-- order's items again.
-- Incremental by month: the order months of the lines fct_order_items wrote or replaced
-- tonight (a new, cancelled or moved order; a product recategorised).
{%- set months = changed_keys('order_month', [ref('fct_order_items')]) if is_incremental() else none %}
with lines as (
    select i.order_month, i.order_id, i.product_id, i.category
    from {{ ref('fct_order_items') }} as i
    where i.is_valid and i.order_date <= (select as_of_date from {{ ref('as_of') }})
    {%- if months %}
        and i.order_month in {{ months }}
    {%- endif %}
),

baskets as (
    select distinct order_month, 'product' as level, order_id, product_id as item
    from lines where product_id is not null
    union all
    select distinct order_month, 'category' as level, order_id, category as item
    from lines where category is not null
)

select order_month as month, level, 'total' as kind, null as item_a, null as item_b,
    count(distinct order_id) as orders
from baskets
group by order_month, level
union all
select order_month, level, 'item', item, null, count(*)
from baskets
group by order_month, level, item
union all
select a.order_month, a.level, 'pair', a.item, b.item, count(*)
from baskets as a
inner join baskets as b
    on b.order_month = a.order_month and b.level = a.level and b.order_id = a.order_id
    and b.item <> a.item
group by a.order_month, a.level, a.item, b.item
