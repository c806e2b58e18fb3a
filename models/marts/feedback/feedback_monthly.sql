-- Feedback per calendar month x channel (docs/metrics.md "Feedback"): NPS, CSAT (share 4-5 and mean),
-- complaint rate and referral rate. A complete grid: every month from the first month with an
-- order or an answer to the as-of month x every channel that appears (answers, orders,
-- customers' acquisition channels; a missing one is 'unknown'), with 0 counts and NULL rates
-- where there is no data. Only what happened on or before the as-of date counts.
-- Which channel (and month) each figure uses, as in channel_kpis_monthly:
-- - NPS, CSAT: the answer's channel in fct_feedback (its order's channel, else the customer's
--   acquisition channel) and the month it was submitted;
-- - complaint rate = valid orders with a complaint / valid orders: the ORDER's channel and
--   month; a complaint answer counts once submitted (on or before the as-of date), on its
--   order's month, so a late complaint restates the past month (like a late refund). NULL
--   when no answer at all was submitted by the as-of date (no complaint data);
-- - referral rate = customers who referred >= 1 new customer in the month / customers: the
--   customers are those acquired through the channel (ACQUISITION channel) with a first valid
--   order on or before the month's end (and the as-of date); a referred customer counts in
--   the month their account was created.
with as_of as (
    select as_of_date, as_of_month from {{ ref('as_of') }}
),

answers as (
    select
        f.feedback_id,
        f.order_id,
        f.submitted_month as month,
        coalesce(f.channel, 'unknown') as channel,
        f.nps_score,
        f.csat_score,
        f.is_promoter,
        f.is_detractor,
        f.is_satisfied,
        f.is_complaint
    from {{ ref('fct_feedback') }} as f
    cross join as_of as a
    where f.submitted_date <= a.as_of_date
),

orders as (
    select
        o.order_id,
        o.order_month as month,
        coalesce(o.channel, 'unknown') as channel,
        o.is_valid
    from {{ ref('fct_orders') }} as o
    cross join as_of as a
    where o.order_date <= a.as_of_date
),

customers as (
    select
        customer_id,
        coalesce(acquisition_channel, 'unknown') as channel,
        first_order_date,
        cohort_month,
        referred_by_customer_id,
        -- when a referred customer counts: the month their account was created (or of their
        -- first valid order, when that is earlier or the creation time is unknown)
        least(cast(date_trunc('month', cast(created_at as date)) as date), cohort_month)
            as joined_month
    from {{ ref('dim_customers') }}
),

bounds as (
    select
        least(
            (select min(month) from orders),
            (select min(month) from answers)
        ) as first_month,
        any_value(as_of_month) as as_of_month
    from as_of
),

months as (
    {{ month_spine('bounds', 'first_month', 'as_of_month') }}
),

channels as (
    select channel from answers
    union
    select channel from orders
    union
    select channel from customers where first_order_date is not null
),

answer_stats as (
    select
        month,
        channel,
        count(*) as responses,
        count(nps_score) as nps_responses,
        count(*) filter (where is_promoter) as promoters,
        count(*) filter (where nps_score between 7 and 8) as passives,
        count(*) filter (where is_detractor) as detractors,
        count(csat_score) as csat_responses,
        count(*) filter (where is_satisfied) as satisfied_responses,
        avg(csat_score) as csat_mean
    from answers
    group by month, channel
),

complained_orders as (
    select distinct order_id from answers where is_complaint and order_id is not null
),

order_stats as (
    select
        o.month,
        o.channel,
        count(*) as valid_orders,
        count(c.order_id) as complaint_orders
    from orders as o
    left join complained_orders as c on c.order_id = o.order_id
    where o.is_valid
    group by o.month, o.channel
),

feedback_present as (
    select count(*) > 0 as has_feedback from answers
),

-- referrals: (referrer, month the referred customers joined, how many)
referrals as (
    select referred_by_customer_id as customer_id, joined_month as month, count(*) as referred
    from customers
    where referred_by_customer_id is not null and joined_month is not null
    group by referred_by_customer_id, joined_month
),

-- the referral base of a month: customers with a first valid order by its end (a running sum
-- of first orders; no customer x month grid)
first_orders as (
    select cohort_month as month, channel, count(*) as customers
    from customers
    where cohort_month is not null
    group by cohort_month, channel
),

referral_base as (
    select
        m.month,
        c.channel,
        sum(coalesce(f.customers, 0)) over (
            partition by c.channel order by m.month
            rows between unbounded preceding and current row
        ) as referral_base
    from months as m
    cross join (select distinct channel from first_orders) as c
    left join first_orders as f on f.month = m.month and f.channel = c.channel
),

-- referrers of a month: customers of its base who referred someone joining in it
referrer_stats as (
    select
        r.month,
        c.channel,
        count(*) as referrers,
        sum(r.referred) as referred_customers
    from referrals as r
    inner join customers as c on c.customer_id = r.customer_id
    where c.cohort_month <= r.month
    group by r.month, c.channel
),

grid as (
    select m.month, c.channel from months as m cross join channels as c
)

select
    g.month,
    g.channel,
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
    coalesce(o.valid_orders, 0) as valid_orders,
    coalesce(o.complaint_orders, 0) as complaint_orders,
    case
        when p.has_feedback
            then cast({{ safe_divide('o.complaint_orders', 'o.valid_orders') }} as double)
    end as complaint_rate,
    cast(coalesce(b.referral_base, 0) as bigint) as referral_base,
    coalesce(r.referrers, 0) as referrers,
    cast(coalesce(r.referred_customers, 0) as bigint) as referred_customers,
    cast({{ safe_divide('coalesce(r.referrers, 0)', 'b.referral_base') }} as double)
        as referral_rate
from grid as g
cross join feedback_present as p
left join answer_stats as a on a.month = g.month and a.channel = g.channel
left join order_stats as o on o.month = g.month and o.channel = g.channel
left join referral_base as b on b.month = g.month and b.channel = g.channel
left join referrer_stats as r on r.month = g.month and r.channel = g.channel
