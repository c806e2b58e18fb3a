-- Feedback per product (docs/metrics.md "Feedback", per product): NPS, CSAT (share 4-5 and mean),
-- complaint rate and referral rate of the orders and buyers of each product, as of the
-- as-of date. One row per product of the catalogue, plus any product ordered but missing
-- from it (product_name NULL). Survey answers are about orders, not lines: an answer about
-- an order counts for every distinct product in that order (answers without an order count
-- for no product). As in feedback_monthly and channel_kpis_monthly, NPS and CSAT take every
-- answer submitted on or before the as-of date about an order of the product, whatever the
-- order's status; complaint and referral rates count valid orders on or before the as-of date.
-- - complaint rate = valid orders containing the product with a complaint (an answer flagged
--   as a complaint, submitted by the as-of date) / valid orders containing the product; NULL
--   when no answer at all was submitted by the as-of date (no complaint data).
-- - referral rate = buyers of the product (a valid order containing it) who referred >= 1
--   customer known at the as-of date (dim_customers.referred_customers) / buyers.
-- Built whole each night (every product moves), from two incremental tables: the (order,
-- product) rows of int_order_products and the (product, customer) buyers of
-- int_product_buyers, not from every order line.
with as_of as (
    select as_of_date from {{ ref('as_of') }}
),

-- one row per (order, product): an order with two lines of one product counts once
order_products as (
    select order_id, product_id, customer_id, is_counted
    from {{ ref('int_order_products') }}
),

products as (
    select product_id, product_name, category from {{ ref('stg_shop__products') }}
    union all
    select distinct op.product_id, null as product_name, null as category
    from order_products as op
    left join {{ ref('stg_shop__products') }} as sp on sp.product_id = op.product_id
    where sp.product_id is null and op.product_id is not null
),

answers as (
    select f.feedback_id, f.order_id, f.nps_score, f.csat_score, f.is_promoter,
        f.is_detractor, f.is_satisfied, f.is_complaint
    from {{ ref('fct_feedback') }} as f
    cross join as_of as a
    where f.submitted_date <= a.as_of_date and f.order_id is not null
),

answer_stats as (
    select
        op.product_id,
        count(*) as responses,
        count(f.nps_score) as nps_responses,
        count(*) filter (where f.is_promoter) as promoters,
        count(*) filter (where f.nps_score between 7 and 8) as passives,
        count(*) filter (where f.is_detractor) as detractors,
        count(f.csat_score) as csat_responses,
        count(*) filter (where f.is_satisfied) as satisfied_responses,
        avg(f.csat_score) as csat_mean
    from answers as f
    inner join order_products as op on op.order_id = f.order_id
    group by op.product_id
),

complained_orders as (
    select distinct order_id from answers where is_complaint
),

order_stats as (
    select
        op.product_id,
        count(*) as valid_orders,
        count(c.order_id) as complaint_orders
    from order_products as op
    left join complained_orders as c on c.order_id = op.order_id
    where op.is_counted
    group by op.product_id
),

-- buyers of each product (a valid order containing it), and those who referred someone
buyer_stats as (
    select
        b.product_id,
        count(*) as customers,
        count(r.customer_id) as referrers
    from {{ ref('int_product_buyers') }} as b
    left join (
        select customer_id from {{ ref('dim_customers') }} where referred_customers >= 1
    ) as r on r.customer_id = b.customer_id
    group by b.product_id
),

feedback_present as (
    select count(*) > 0 as has_feedback
    from {{ ref('fct_feedback') }} as f
    cross join as_of as a
    where f.submitted_date <= a.as_of_date
)

select
    p.product_id,
    p.product_name,
    p.category,
    coalesce(o.valid_orders, 0) as valid_orders,
    coalesce(b.customers, 0) as customers,
    coalesce(a.responses, 0) as responses,
    coalesce(a.nps_responses, 0) as nps_responses,
    coalesce(a.promoters, 0) as promoters,
    coalesce(a.passives, 0) as passives,
    coalesce(a.detractors, 0) as detractors,
    cast({{ safe_divide('100 * (a.promoters - a.detractors)', 'a.nps_responses') }} as double)
        as nps,
    coalesce(a.csat_responses, 0) as csat_responses,
    coalesce(a.satisfied_responses, 0) as satisfied_responses,
    cast({{ safe_divide('a.satisfied_responses', 'a.csat_responses') }} as double) as csat,
    cast(a.csat_mean as double) as csat_mean,
    coalesce(o.complaint_orders, 0) as complaint_orders,
    case
        when f.has_feedback
            then cast({{ safe_divide('o.complaint_orders', 'o.valid_orders') }} as double)
    end as complaint_rate,
    coalesce(b.referrers, 0) as referrers,
    cast({{ safe_divide('b.referrers', 'b.customers') }} as double) as referral_rate
from products as p
cross join feedback_present as f
left join answer_stats as a on a.product_id = p.product_id
left join order_stats as o on o.product_id = p.product_id
left join buyer_stats as b on b.product_id = p.product_id
