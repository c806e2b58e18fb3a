-- Customer acquisition cost per month x channel (docs/metrics.md "Customer lifetime value"):
-- CAC = marketing spend / new customers acquired through that channel.
-- Grain: month x channel, a complete grid: every month from the month of the first order
-- (any status) to the as-of month, x every channel that appears anywhere (orders, sessions,
-- marketing spend, feedback, customers' acquisition channels; a missing channel is 'unknown').
-- - new_customers: customers whose first valid order falls in the month and whose
--   acquisition_channel is the channel (0 when none).
-- - spend: marketing spend of the channel in the month, up to the as-of date; NULL when the
--   source has no spend row for that channel and month (organic, direct, referral ...).
-- - cac = spend / new_customers; NULL without spend and NULL with 0 new customers.
with as_of as (
    select as_of_date, as_of_month from {{ ref('as_of') }}
),

bounds as (
    select
        cast(date_trunc('month', min(o.order_date)) as date) as first_month,
        a.as_of_date,
        a.as_of_month
    from {{ ref('fct_orders') }} as o
    cross join as_of as a
    where o.order_date <= a.as_of_date
    group by a.as_of_date, a.as_of_month
),

months as (
    {{ month_spine('bounds', 'first_month', 'as_of_month') }}
),

channels as (
    select coalesce(channel, 'unknown') as channel from {{ ref('fct_orders') }}
    union
    select coalesce(channel, 'unknown') as channel from {{ ref('stg_shop__sessions') }}
    union
    select coalesce(channel, 'unknown') as channel from {{ ref('stg_shop__marketing_spend') }}
    union
    select coalesce(channel, 'unknown') as channel from {{ ref('fct_feedback') }}
    union
    select acquisition_channel as channel from {{ ref('clv_customers') }}
),

spend as (
    select
        cast(date_trunc('month', s.spend_date) as date) as month,
        coalesce(s.channel, 'unknown') as channel,
        cast(sum(s.spend) as decimal(18, 4)) as spend
    from {{ ref('stg_shop__marketing_spend') }} as s
    cross join as_of as a
    where s.spend_date <= a.as_of_date
    group by all
),

acquired as (
    select cohort_month as month, acquisition_channel as channel, count(*) as new_customers
    from {{ ref('clv_customers') }}
    group by all
)

select
    m.month,
    c.channel,
    s.spend,
    coalesce(n.new_customers, 0) as new_customers,
    {{ money_divide('s.spend', 'n.new_customers') }} as cac
from months as m
cross join channels as c
left join spend as s on s.month = m.month and s.channel = c.channel
left join acquired as n on n.month = m.month and n.channel = c.channel
