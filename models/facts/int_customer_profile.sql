{{ config(materialized='incremental', unique_key='customer_id', publish=false) }}
-- One row per staged customer (known at the as-of date or not yet): what dim_customers says of
-- them, but for what moves with the as-of date each night for everyone (recency, churn flag
-- and date, as-of date, and whether they are known yet), which the dim_customers view adds.
-- Every row is as of tonight's as-of date (a row not written again is one the as-of date
-- moving does not change): order figures from int_customer_orders, the latest NPS/CSAT and
-- complaints of the answers submitted on or before it, and referred_customers counting the
-- referred customers known at it.
-- Incremental: a customer is written again when their orders, their version or their
-- answers changed, when someone they referred changed (a version naming them or no longer
-- naming them, a first valid order making a referred customer known), and for what the
-- as-of date moving brings: the customers created since the last as-of date (and their
-- referrers) and those with answers submitted since. Everyone when it moved back.
-- depends_on: {{ ref('stg_shop__orders') }} (previous_as_of(), on incremental runs)
{%- if is_incremental() %}
{%- set changed %}
(
    select customer_id
    from {{ changed_keys('customer_id', [
        ref('int_customer_orders'), ref('stg_shop__customers'), ref('stg_shop__feedback'),
    ]) }} as k
    union
    select referred_by_customer_id
    from {{ changed_keys('referred_by_customer_id', [ref('stg_shop__customers')]) }} as k
    union
    select c.referred_by_customer_id
    from {{ ref('stg_shop__customers') }} as c
    where c.referred_by_customer_id is not null
        and c.customer_id in {{ changed_keys('customer_id', [ref('int_customer_orders')]) }}
    union
    select customer_id from created_since
    union
    select referred_by_customer_id from created_since where referred_by_customer_id is not null
    union
    select f.customer_id
    from {{ ref('stg_shop__feedback') }} as f
    cross join as_of_window as w
    where f.submitted_date > w.previous_as_of_date and f.submitted_date <= w.as_of_date
)
{%- endset %}
{%- endif %}
with
{%- if is_incremental() %}
-- the as-of date of the last run and tonight's
as_of_window as (
    select
        p.previous_as_of_date,
        a.as_of_date,
        -- moved back (or no last one): everyone is written again
        a.as_of_date < p.previous_as_of_date or p.previous_as_of_date is null as moved_back
    from {{ previous_as_of() }} as p
    cross join {{ ref('as_of') }} as a
),

-- the customers the as-of date reached tonight: created since the last one
created_since as (
    select c.customer_id, c.referred_by_customer_id
    from {{ ref('stg_shop__customers') }} as c
    cross join as_of_window as w
    where cast(c.created_at as date) > w.previous_as_of_date
        and cast(c.created_at as date) <= w.as_of_date
),
{%- endif %}

order_stats as (
    select *
    from {{ ref('int_customer_orders') }}
    where valid_orders is not null
),

-- the staged customers this run writes
customers as (
    select *
    from {{ ref('stg_shop__customers') }}
    {%- if is_incremental() %}
    where customer_id in {{ changed }} or (select moved_back from as_of_window)
    {%- endif %}
),

-- the customers known at the as-of date who name one of them as referrer: created on or
-- before it (an unknown creation time is not in the future), or with a valid order on or
-- before it
referrals as (
    select r.referred_by_customer_id as customer_id, count(*) as referred_customers
    from {{ ref('stg_shop__customers') }} as r
    cross join {{ ref('as_of') }} as a
    where r.referred_by_customer_id in (select customer_id from customers)
        and (
            coalesce(cast(r.created_at as date) <= a.as_of_date, true)
            or r.customer_id in (select customer_id from order_stats)
        )
    group by r.referred_by_customer_id
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
        and f.customer_id in (select customer_id from customers)
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
    coalesce(r.referred_customers, 0) as referred_customers,
    f.latest_nps,
    f.latest_csat,
    coalesce(f.complaints, 0) as complaints
from customers as c
left join order_stats as s on s.customer_id = c.customer_id
left join referrals as r on r.customer_id = c.customer_id
left join latest_feedback as f on f.customer_id = c.customer_id
