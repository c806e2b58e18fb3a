-- Channel KPIs per calendar month x channel (docs/metrics.md "Channel KPIs"). The grid is
-- cac_monthly's: every month from the first order month to the as-of month x every channel
-- that appears anywhere, with 0 counts and NULL rates where there is no data (a rate whose
-- denominator is 0 is NULL). Only what happened on or before the as-of date counts.
-- Which channel (and month) each KPI uses:
-- - order KPIs (orders, valid_orders, customers, new_customers, net_revenue, aov,
--   revenue_growth, repeat_purchase_rate, return/cancellation/fulfilment rates):
--   the ORDER's channel and the month of its order date;
-- - conversion_rate: the SESSION's channel and the month it started;
-- - NPS and CSAT: fct_feedback's channel (the order's channel, else the customer's
--   acquisition channel) and the month the answer was submitted;
-- - complaint_rate: valid orders with a complaint / valid orders, by the order's channel and
--   month; a complaint counts once it was submitted (on or before the as-of date), exactly as
--   in feedback_monthly; NULL when no answer was submitted by the as-of date (no complaint
--   data at all);
-- - spend, acquired_customers, cac (from cac_monthly) and avg_historical_clv, clv_to_cac:
--   the customer's ACQUISITION channel.
with as_of as (
    select as_of_date from {{ ref('as_of') }}
),

grid as (
    select month, channel, spend, new_customers as acquired_customers, cac
    from {{ ref('cac_monthly') }}
),

orders as (
    select
        o.order_id,
        o.customer_id,
        o.order_date,
        o.ordered_at,
        o.order_month as month,
        coalesce(o.channel, 'unknown') as channel,
        o.is_valid,
        o.is_returned,
        o.is_cancelled,
        o.is_shipped,
        o.is_on_time,
        o.net_revenue
    from {{ ref('fct_orders') }} as o
    cross join as_of as a
    where o.order_date <= a.as_of_date
),

-- answers submitted on or before the as-of date: fct_orders.has_complaint counts every
-- answer whenever it came, so a complaint made after the as-of date would leak in
answers as (
    select f.*
    from {{ ref('fct_feedback') }} as f
    cross join as_of as a
    where f.submitted_date <= a.as_of_date
),

complained_orders as (
    select distinct order_id from answers where is_complaint and order_id is not null
),

order_stats as (
    select
        o.month,
        o.channel,
        count(*) as orders,
        count(*) filter (where o.is_valid) as valid_orders,
        count(distinct o.customer_id) filter (where o.is_valid) as customers,
        cast(sum(o.net_revenue) filter (where o.is_valid) as decimal(18, 4)) as net_revenue,
        count(*) filter (where o.is_returned) as returned_orders,
        count(*) filter (where o.is_cancelled) as cancelled_orders,
        count(*) filter (where o.is_shipped) as shipped_orders,
        count(*) filter (where o.is_shipped and o.is_on_time) as on_time_orders,
        count(c.order_id) filter (where o.is_valid) as complaint_orders
    from orders as o
    left join complained_orders as c on c.order_id = o.order_id
    group by o.month, o.channel
),

-- a customer is new in (m, c) when their first valid order (earliest date, then time, then
-- id) was placed in month m through channel c (int_order_sequence numbers them)
first_orders as (
    select order_month as month, coalesce(channel, 'unknown') as channel, count(*) as new_customers
    from {{ ref('int_order_sequence') }}
    where order_number = 1
    group by all
),

-- valid orders per customer up to the end of each month they ordered in (any channel): the
-- number of their last order that month, as orders are numbered by date
customer_months as (
    select customer_id, order_month as month, max(order_number) as orders_to_date
    from {{ ref('int_order_sequence') }}
    group by customer_id, order_month
),

repeat_stats as (
    select
        b.month,
        b.channel,
        count(*) filter (where cm.orders_to_date >= 2) as repeat_customers
    from (select distinct customer_id, month, channel from orders where is_valid) as b
    inner join customer_months as cm on cm.customer_id = b.customer_id and cm.month = b.month
    group by b.month, b.channel
),

session_stats as (
    select
        cast(date_trunc('month', s.session_date) as date) as month,
        coalesce(s.channel, 'unknown') as channel,
        count(*) as sessions,
        count(*) filter (where s.converted) as converted_sessions
    from {{ ref('stg_shop__sessions') }} as s
    cross join as_of as a
    where s.session_date <= a.as_of_date
    group by all
),

feedback_stats as (
    select
        f.submitted_month as month,
        coalesce(f.channel, 'unknown') as channel,
        count(f.nps_score) as nps_responses,
        count(*) filter (where f.is_promoter) as promoters,
        count(*) filter (where f.nps_score between 7 and 8) as passives,
        count(*) filter (where f.is_detractor) as detractors,
        count(f.csat_score) as csat_responses,
        count(*) filter (where f.is_satisfied) as satisfied_responses,
        avg(f.csat_score) as csat_mean
    from answers as f
    group by all
),

-- complaints come from the feedback source: with no answer by the as-of date,
-- complaint_rate is unknown (NULL), not 0
feedback_present as (
    select count(*) > 0 as has_feedback from answers
),

channel_clv as (
    select
        acquisition_channel as channel,
        {{ money_divide('sum(historical_clv)', 'count(historical_clv)') }} as avg_historical_clv
    from {{ ref('clv_customers') }}
    group by acquisition_channel
),

kpis as (
    select
        g.month,
        g.channel,
        coalesce(o.orders, 0) as orders,
        coalesce(o.valid_orders, 0) as valid_orders,
        coalesce(o.customers, 0) as customers,
        coalesce(n.new_customers, 0) as new_customers,
        cast(coalesce(o.net_revenue, 0) as decimal(18, 4)) as net_revenue,
        coalesce(o.returned_orders, 0) as returned_orders,
        coalesce(o.cancelled_orders, 0) as cancelled_orders,
        coalesce(o.shipped_orders, 0) as shipped_orders,
        coalesce(o.on_time_orders, 0) as on_time_orders,
        coalesce(o.complaint_orders, 0) as complaint_orders,
        coalesce(r.repeat_customers, 0) as repeat_customers,
        coalesce(s.sessions, 0) as sessions,
        coalesce(s.converted_sessions, 0) as converted_sessions,
        coalesce(f.nps_responses, 0) as nps_responses,
        coalesce(f.promoters, 0) as promoters,
        coalesce(f.passives, 0) as passives,
        coalesce(f.detractors, 0) as detractors,
        coalesce(f.csat_responses, 0) as csat_responses,
        coalesce(f.satisfied_responses, 0) as satisfied_responses,
        f.csat_mean,
        g.spend,
        g.acquired_customers,
        g.cac,
        v.avg_historical_clv,
        p.has_feedback
    from grid as g
    left join order_stats as o on o.month = g.month and o.channel = g.channel
    left join first_orders as n on n.month = g.month and n.channel = g.channel
    left join repeat_stats as r on r.month = g.month and r.channel = g.channel
    left join session_stats as s on s.month = g.month and s.channel = g.channel
    left join feedback_stats as f on f.month = g.month and f.channel = g.channel
    left join channel_clv as v on v.channel = g.channel
    cross join feedback_present as p
)

select
    month,
    channel,
    orders,
    valid_orders,
    customers,
    new_customers,
    net_revenue,
    {{ money_divide('net_revenue', 'valid_orders') }} as aov,
    cast(
        {{ safe_divide('net_revenue', 'lag(net_revenue) over (partition by channel order by month)') }}
        as double
    ) - 1 as revenue_growth,
    repeat_customers,
    cast({{ safe_divide('repeat_customers', 'customers') }} as double) as repeat_purchase_rate,
    returned_orders,
    cast({{ safe_divide('returned_orders', 'valid_orders') }} as double) as return_rate,
    cancelled_orders,
    cast({{ safe_divide('cancelled_orders', 'orders') }} as double) as cancellation_rate,
    shipped_orders,
    on_time_orders,
    cast({{ safe_divide('on_time_orders', 'shipped_orders') }} as double) as fulfilment_rate,
    sessions,
    converted_sessions,
    cast({{ safe_divide('converted_sessions', 'sessions') }} as double) as conversion_rate,
    nps_responses,
    promoters,
    passives,
    detractors,
    cast({{ safe_divide('100 * (promoters - detractors)', 'nps_responses') }} as double) as nps,
    csat_responses,
    satisfied_responses,
    cast({{ safe_divide('satisfied_responses', 'csat_responses') }} as double) as csat,
    cast(csat_mean as double) as csat_mean,
    complaint_orders,
    case
        when has_feedback
            then cast({{ safe_divide('complaint_orders', 'valid_orders') }} as double)
    end as complaint_rate,
    spend,
    acquired_customers,
    cac,
    avg_historical_clv,
    cast({{ safe_divide('avg_historical_clv', 'cac') }} as double) as clv_to_cac
from kpis
