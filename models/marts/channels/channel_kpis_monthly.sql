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
with grid as (
    select month, channel, spend, new_customers as acquired_customers, cac
    from {{ ref('cac_monthly') }}
),

-- the month x channel figures (int_channel_months: incremental by month)
months as (
    select * from {{ ref('int_channel_months') }}
),

-- whether any answer was submitted by the as-of date (complaint data exists at all)
feedback_present as (
    select coalesce(sum(answers), 0) > 0 as has_feedback from months
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
        coalesce(m.orders, 0) as orders,
        coalesce(m.valid_orders, 0) as valid_orders,
        coalesce(m.customers, 0) as customers,
        coalesce(m.new_customers, 0) as new_customers,
        cast(coalesce(m.net_revenue, 0) as decimal(18, 4)) as net_revenue,
        coalesce(m.returned_orders, 0) as returned_orders,
        coalesce(m.cancelled_orders, 0) as cancelled_orders,
        coalesce(m.shipped_orders, 0) as shipped_orders,
        coalesce(m.on_time_orders, 0) as on_time_orders,
        coalesce(m.complaint_orders, 0) as complaint_orders,
        coalesce(m.repeat_customers, 0) as repeat_customers,
        coalesce(m.sessions, 0) as sessions,
        coalesce(m.converted_sessions, 0) as converted_sessions,
        coalesce(m.nps_responses, 0) as nps_responses,
        coalesce(m.promoters, 0) as promoters,
        coalesce(m.passives, 0) as passives,
        coalesce(m.detractors, 0) as detractors,
        coalesce(m.csat_responses, 0) as csat_responses,
        coalesce(m.satisfied_responses, 0) as satisfied_responses,
        m.csat_mean,
        g.spend,
        g.acquired_customers,
        g.cac,
        v.avg_historical_clv,
        p.has_feedback
    from grid as g
    left join months as m on m.month = g.month and m.channel = g.channel
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
