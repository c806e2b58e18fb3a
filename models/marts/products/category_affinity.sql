-- Cross-sell affinity of product categories (docs/metrics.md "Products"): one row per ORDERED
-- pair of different categories bought in the same order; the measures and the baskets are
-- defined in int_affinity_pairs.
select
    item_a as category_a,
    item_b as category_b,
    * exclude (level, item_a, item_b)
from {{ ref('int_affinity_pairs') }}
where level = 'category'
