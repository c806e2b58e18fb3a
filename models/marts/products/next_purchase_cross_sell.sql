-- Next-purchase cross-sell (docs/metrics.md "Products"): one row per (product_a, product_b),
-- a <> b, with at least one customer whose FIRST valid order contained product A and one of
-- whose LATER valid orders contained product B. Valid orders placed on or before the as-of
-- date; orders are ranked per customer by date, then time, then order id (two orders on one
-- day are two purchases, the later one is a later order). Buying A again is a repurchase,
-- not cross-sell: no a = b rows. B may also have been in the first order.
-- - customers: customers with A in the first order and B in a later one.
-- - first_order_customers(A): customers whose first order contained A;
--   returning_customers(A): those of them with at least one later valid order.
-- - share_of_first_buyers = customers / first_order_customers;
--   share_of_returning = customers / returning_customers.
-- - baseline_share(B) = customers with B in a later order / customers with a later order
--   (whatever their first order held); lift = share_of_returning / baseline_share.
-- per customer, the products of their first and of their later valid orders, and their
-- pairs (int_cross_sell_customers, int_cross_sell_pairs: incremental by customer)
with customer_products as (
    select customer_id, product_id, in_first, in_later, has_later_order
    from {{ ref('int_cross_sell_customers') }}
),

first_buyers as (
    select
        product_id,
        count(*) as first_order_customers,
        count(*) filter (where has_later_order) as returning_customers
    from customer_products
    where in_first
    group by product_id
),

-- customers with a later valid order: those with a second one (whatever it held)
returners as (
    select count(*) as all_returning_customers
    from {{ ref('int_order_sequence') }}
    where order_number = 2
),

later_buyers as (
    select
        c.product_id,
        count(*) as later_customers,
        any_value(r.all_returning_customers) as all_returning_customers
    from customer_products as c
    cross join returners as r
    where c.in_later
    group by c.product_id
),

pairs as (
    select product_a, product_b, count(*) as customers
    from {{ ref('int_cross_sell_pairs') }}
    group by product_a, product_b
),

products as (
    select product_id, min(product_name) as product_name, min(category) as category
    from {{ ref('stg_shop__products') }}
    group by product_id
)

select
    p.product_a,
    pa.product_name as product_a_name,
    pa.category as category_a,
    p.product_b,
    pb.product_name as product_b_name,
    pb.category as category_b,
    p.customers,
    fb.first_order_customers,
    fb.returning_customers,
    cast(p.customers / fb.first_order_customers as double) as share_of_first_buyers,
    cast(p.customers / fb.returning_customers as double) as share_of_returning,
    lb.later_customers as baseline_customers,
    lb.all_returning_customers,
    cast(lb.later_customers / lb.all_returning_customers as double) as baseline_share,
    cast(
        (p.customers / fb.returning_customers)
        / (lb.later_customers / lb.all_returning_customers) as double
    ) as lift
from pairs as p
inner join first_buyers as fb on fb.product_id = p.product_a
inner join later_buyers as lb on lb.product_id = p.product_b
left join products as pa on pa.product_id = p.product_a
left join products as pb on pb.product_id = p.product_b
