-- Sales team (docs/metrics.md "Sales team"): one row per sales rep x calendar month, a complete
-- grid: every rep (the sales_reps table, plus any rep id customers carry that the table does
-- not know) x every month from the month of the first order (any status) to the as-of month.
-- A customer, and every order they place, belongs to the rep of customers.sales_rep_id (the
-- customer's latest version: there is no assignment history, so a reassigned customer's past
-- orders move with them). Customers without a rep are in no row. Valid orders placed on or
-- before the as-of date; a month is the order's month.
-- - net_revenue = gross revenue - refunds of the rep's customers' valid orders of the month
--   (a refund is taken off its order's month); 0 without orders.
-- - revenue_growth = net_revenue / previous month's net_revenue - 1 (NULL for the first month
--   of the grid or when the previous month's is 0).
-- - customers_served = distinct customers of the rep with a valid order in the month.
-- - repeat_customers = of those, customers with >= 2 valid orders up to the end of the month;
--   repeat_rate = repeat_customers / customers_served (so a past month's rate does not change).
-- - CSAT of their orders: answers with a CSAT score (1-5) about a valid order of the month
--   (the ORDER's month, not the answer's) submitted on or before the as-of date;
--   csat = answers 4-5 / answers; csat_mean = their mean score.
with as_of as (
    select as_of_date, as_of_month from {{ ref('as_of') }}
),

bounds as (
    select
        cast(date_trunc('month', min(o.order_date)) as date) as first_month,
        a.as_of_month
    from {{ ref('fct_orders') }} as o
    cross join as_of as a
    where o.order_date <= a.as_of_date
    group by a.as_of_month
),

months as (
    {{ month_spine('bounds', 'first_month', 'as_of_month') }}
),

customers as (
    select customer_id, sales_rep_id
    from {{ ref('stg_shop__customers') }}
    where sales_rep_id is not null
),

reps as (
    select
        ids.sales_rep_id,
        r.rep_name,
        r.team,
        r.rep_region
    from (
        select sales_rep_id from {{ ref('stg_shop__sales_reps') }}
        union
        select sales_rep_id from customers
    ) as ids
    left join (
        select
            sales_rep_id,
            min(rep_name) as rep_name,
            min(team) as team,
            min(region) as rep_region
        from {{ ref('stg_shop__sales_reps') }}
        group by sales_rep_id
    ) as r on r.sales_rep_id = ids.sales_rep_id
),

orders as (
    select
        c.sales_rep_id,
        o.order_id,
        o.customer_id,
        o.order_month as month,
        o.net_revenue
    from {{ ref('fct_orders') }} as o
    inner join customers as c on c.customer_id = o.customer_id
    cross join as_of as a
    where o.is_valid and o.order_date <= a.as_of_date
),

order_stats as (
    select
        sales_rep_id,
        month,
        count(*) as valid_orders,
        count(distinct customer_id) as customers_served,
        sum(net_revenue) as net_revenue
    from orders
    group by sales_rep_id, month
),

-- valid orders per customer up to the end of each month they ordered in
customer_months as (
    select
        sales_rep_id,
        customer_id,
        month,
        sum(count(*)) over (
            partition by customer_id order by month
            rows between unbounded preceding and current row
        ) as orders_to_date
    from orders
    group by sales_rep_id, customer_id, month
),

repeat_stats as (
    select sales_rep_id, month, count(*) filter (where orders_to_date >= 2) as repeat_customers
    from customer_months
    group by sales_rep_id, month
),

csat_stats as (
    select
        o.sales_rep_id,
        o.month,
        count(f.csat_score) as csat_responses,
        count(*) filter (where f.csat_score >= 4) as satisfied_responses,
        avg(f.csat_score) as csat_mean
    from {{ ref('fct_feedback') }} as f
    inner join orders as o on o.order_id = f.order_id
    cross join as_of as a
    where f.csat_score is not null and f.submitted_date <= a.as_of_date
    group by o.sales_rep_id, o.month
),

grid as (
    select
        r.sales_rep_id,
        r.rep_name,
        r.team,
        r.rep_region,
        m.month,
        coalesce(s.valid_orders, 0) as valid_orders,
        cast(coalesce(s.net_revenue, 0) as decimal(18, 4)) as net_revenue,
        coalesce(s.customers_served, 0) as customers_served,
        coalesce(p.repeat_customers, 0) as repeat_customers,
        coalesce(f.csat_responses, 0) as csat_responses,
        coalesce(f.satisfied_responses, 0) as satisfied_responses,
        f.csat_mean
    from reps as r
    cross join months as m
    left join order_stats as s on s.sales_rep_id = r.sales_rep_id and s.month = m.month
    left join repeat_stats as p on p.sales_rep_id = r.sales_rep_id and p.month = m.month
    left join csat_stats as f on f.sales_rep_id = r.sales_rep_id and f.month = m.month
)

select
    sales_rep_id,
    rep_name,
    team,
    rep_region,
    month,
    valid_orders,
    net_revenue,
    lag(net_revenue) over (partition by sales_rep_id order by month) as previous_net_revenue,
    cast(
        {{ safe_divide('net_revenue', 'lag(net_revenue) over (partition by sales_rep_id order by month)') }}
        as double
    ) - 1 as revenue_growth,
    customers_served,
    repeat_customers,
    cast({{ safe_divide('repeat_customers', 'customers_served') }} as double) as repeat_rate,
    csat_responses,
    satisfied_responses,
    cast({{ safe_divide('satisfied_responses', 'csat_responses') }} as double) as csat,
    cast(csat_mean as double) as csat_mean
from grid
