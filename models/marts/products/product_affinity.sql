-- Cross-sell affinity of products (docs/metrics.md "Products"): one row per ORDERED pair of
-- different products bought in the same order, with their names and categories; the
-- measures and the baskets are defined in int_affinity_pairs.
with products as (
    select product_id, min(product_name) as product_name, min(category) as category
    from {{ ref('stg_shop__products') }}
    group by product_id
)

select
    p.item_a as product_a,
    pa.product_name as product_a_name,
    pa.category as category_a,
    p.item_b as product_b,
    pb.product_name as product_b_name,
    pb.category as category_b,
    p.* exclude (level, item_a, item_b)
from {{ ref('int_affinity_pairs') }} as p
left join products as pa on pa.product_id = p.item_a
left join products as pb on pb.product_id = p.item_b
where p.level = 'product'
