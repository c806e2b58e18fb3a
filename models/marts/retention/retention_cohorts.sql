-- Retention cohorts (docs/metrics.md "Retention cohorts"): one row per cohort month c and
-- months since first order k, for every k from the cohort month up to the as-of month
-- (a complete grid: 0 active customers and 0 revenue where nobody bought).
-- A cohort is the calendar month of a customer's first valid order (dim_customers);
-- customers without a valid order are in no cohort. Only valid orders count.
with as_of as (
    select as_of_date, as_of_month
    from {{ ref('as_of') }}
),

cohorts as (
    select
        cohort_month,
        count(*) as cohort_size
    from {{ ref('dim_customers') }}
    where cohort_month is not null
    group by cohort_month
),

-- every calendar month from the first cohort month to the as-of month
bounds as (
    select min(c.cohort_month) as first_month, any_value(a.as_of_month) as as_of_month
    from cohorts as c
    cross join as_of as a
),

months as (
    select month as activity_month
    from ({{ month_spine('bounds', 'first_month', 'as_of_month') }}) as spine
),

grid as (
    select
        c.cohort_month,
        c.cohort_size,
        m.activity_month
    from cohorts as c
    inner join months as m on m.activity_month >= c.cohort_month
),

-- net revenue stays in the month of its order (a late refund restates that month)
activity as (
    select
        d.cohort_month,
        o.order_month as activity_month,
        count(distinct o.customer_id) as active_customers,
        sum(o.net_revenue) as revenue
    from {{ ref('fct_orders') }} as o
    inner join {{ ref('dim_customers') }} as d on d.customer_id = o.customer_id
    cross join as_of as a
    where o.is_valid and o.order_date <= a.as_of_date
    group by d.cohort_month, o.order_month
),

cells as (
    select
        g.cohort_month,
        {{ months_between('g.cohort_month', 'g.activity_month') }} as months_since_first,
        g.activity_month,
        g.cohort_size,
        coalesce(a.active_customers, 0) as active_customers,
        cast(coalesce(a.revenue, 0) as decimal(18, 4)) as revenue
    from grid as g
    left join activity as a
        on a.cohort_month = g.cohort_month and a.activity_month = g.activity_month
),

cumulative as (
    select
        *,
        cast(sum(revenue) over (
            partition by cohort_month
            order by months_since_first
            rows between unbounded preceding and current row
        ) as decimal(18, 4)) as cumulative_revenue
    from cells
)

select
    cohort_month,
    months_since_first,
    activity_month,
    cohort_size,
    active_customers,
    {{ safe_divide('active_customers', 'cohort_size') }} as retention_rate,
    revenue,
    cumulative_revenue,
    {{ money_divide('cumulative_revenue', 'cohort_size') }}
        as cumulative_revenue_per_customer
from cumulative
