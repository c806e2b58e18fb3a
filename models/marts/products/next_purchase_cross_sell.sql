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
-- each customer's valid orders numbered (int_order_sequence, incremental)
with numbered as (
    select order_id, customer_id, order_number
    from {{ ref('int_order_sequence') }}
),

-- the distinct products of each order (int_order_products, incremental)
items as (
    select order_id, product_id
    from {{ ref('int_order_products') }}
    where product_id is not null
),

first_items as (
    select distinct n.customer_id, i.product_id
    from numbered as n
    inner join items as i on i.order_id = n.order_id
    where n.order_number = 1
),

later_items as (
    select distinct n.customer_id, i.product_id
    from numbered as n
    inner join items as i on i.order_id = n.order_id
    where n.order_number > 1
),

returners as (
    select distinct customer_id from numbered where order_number > 1
),

first_buyers as (
    select
        f.product_id,
        count(*) as first_order_customers,
        count(r.customer_id) as returning_customers
    from first_items as f
    left join returners as r on r.customer_id = f.customer_id
    group by f.product_id
),

later_buyers as (
    select
        product_id,
        count(*) as later_customers,
        (select count(*) from returners) as all_returning_customers
    from later_items
    group by product_id
),

pairs as (
    select f.product_id as product_a, l.product_id as product_b, count(*) as customers
    from first_items as f
    inner join later_items as l on l.customer_id = f.customer_id and l.product_id <> f.product_id
    group by f.product_id, l.product_id
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
