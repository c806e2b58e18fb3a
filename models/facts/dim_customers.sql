-- One row per customer known at the as-of date (those without a valid order have NULL first
-- order). Order figures count valid orders only; "to date" means as of the warehouse's as-of
-- date. When var as_of is set in the past, nothing after it counts yet: orders, survey
-- answers (latest NPS/CSAT, complaints), and customers created after it (neither as rows nor
-- as someone's referral). A customer created after the as-of date who nevertheless has a
-- valid order on or before it (bad data) stays, so that order figures still add up.
-- What the orders say (incremental, whatever the as-of date): int_customer_orders; here what
-- depends on the as-of date, cheap to compute again for every customer each night.
with order_stats as (
    select *
    from {{ ref('int_customer_orders') }}
    where valid_orders is not null
),

-- customers known at the as-of date: created on or before it (an unknown creation time is
-- not in the future), or with a valid order on or before it
customers as (
    select c.*
    from {{ ref('stg_shop__customers') }} as c
    cross join {{ ref('as_of') }} as a
    where coalesce(cast(c.created_at as date) <= a.as_of_date, true)
        or c.customer_id in (select customer_id from order_stats)
),

referrals as (
    select referred_by_customer_id as customer_id, count(*) as referred_customers
    from customers
    where referred_by_customer_id is not null
    group by referred_by_customer_id
),

-- answers submitted on or before the as-of date; the latest wins (ties on submitted_at:
-- the greater feedback_id, so two builds agree)
latest_feedback as (
    select
        f.customer_id,
        max_by(f.nps_score, (f.submitted_at, f.feedback_id)) filter (
            where f.nps_score is not null
        ) as latest_nps,
        max_by(f.csat_score, (f.submitted_at, f.feedback_id)) filter (
            where f.csat_score is not null
        ) as latest_csat,
        count(*) filter (where f.is_complaint) as complaints
    from {{ ref('stg_shop__feedback') }} as f
    cross join {{ ref('as_of') }} as a
    where f.submitted_date <= a.as_of_date
    group by f.customer_id
)

select
    c.customer_id,
    c.created_at,
    c.region,
    c.country,
    c.acquisition_channel,
    c.referred_by_customer_id,
    c.sales_rep_id,
    s.first_order_date,
    s.last_order_date,
    cast(date_trunc('month', s.first_order_date) as date) as cohort_month,
    coalesce(s.valid_orders, 0) as valid_orders,
    coalesce(s.purchase_days, 0) as purchase_days,
    datediff('day', s.first_order_date, s.last_order_date) as days_active,
    coalesce(s.gross_revenue, 0) as gross_revenue,
    coalesce(s.net_revenue, 0) as net_revenue,
    {{ money_divide('s.net_revenue', 's.valid_orders') }} as aov,
    s.mean_days_between_orders,
    s.median_days_between_orders,
    datediff('day', s.last_order_date, a.as_of_date) as days_since_last_order,
    s.first_order_date is not null
        and datediff('day', s.last_order_date, a.as_of_date) > {{ churn_window_days() }}
        as is_churned,
    case
        when datediff('day', s.last_order_date, a.as_of_date) > {{ churn_window_days() }}
            then s.last_order_date + {{ churn_window_days() }} + 1
    end as churn_date,
    coalesce(r.referred_customers, 0) as referred_customers,
    f.latest_nps,
    f.latest_csat,
    coalesce(f.complaints, 0) as complaints,
    a.as_of_date
from customers as c
cross join {{ ref('as_of') }} as a
left join order_stats as s on s.customer_id = c.customer_id
left join referrals as r on r.customer_id = c.customer_id
left join latest_feedback as f on f.customer_id = c.customer_id
