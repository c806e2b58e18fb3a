{{ config(materialized='view') }}
-- One row per customer known at the as-of date (those without a valid order have NULL first
-- order). Order figures count valid orders only; "to date" means as of the warehouse's as-of
-- date. When var as_of is set in the past, nothing after it counts yet: orders, survey
-- answers (latest NPS/CSAT, complaints), and customers created after it (neither as rows nor
-- as someone's referral). A customer created after the as-of date who nevertheless has a
-- valid order on or before it (bad data) stays, so that order figures still add up.
-- A view: what it says of each customer is kept incrementally in int_customer_profile; here
-- only what moves with the as-of date for everyone each night (recency, churn flag and date)
-- and who is known at it, computed as the view is read.
select
    p.customer_id,
    p.created_at,
    p.region,
    p.country,
    p.acquisition_channel,
    p.referred_by_customer_id,
    p.sales_rep_id,
    p.first_order_date,
    p.last_order_date,
    p.cohort_month,
    p.valid_orders,
    p.purchase_days,
    p.days_active,
    p.gross_revenue,
    p.net_revenue,
    p.aov,
    p.mean_days_between_orders,
    p.median_days_between_orders,
    datediff('day', p.last_order_date, a.as_of_date) as days_since_last_order,
    p.first_order_date is not null
        and datediff('day', p.last_order_date, a.as_of_date) > {{ churn_window_days() }}
        as is_churned,
    case
        when datediff('day', p.last_order_date, a.as_of_date) > {{ churn_window_days() }}
            then p.last_order_date + {{ churn_window_days() }} + 1
    end as churn_date,
    p.referred_customers,
    p.latest_nps,
    p.latest_csat,
    p.complaints,
    a.as_of_date
from {{ ref('int_customer_profile') }} as p
cross join {{ ref('as_of') }} as a
-- known at the as-of date: created on or before it (an unknown creation time is not in the
-- future), or with a valid order on or before it
where coalesce(cast(p.created_at as date) <= a.as_of_date, true)
    or p.first_order_date is not null
