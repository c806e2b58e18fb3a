{{ config(
    materialized=refreshed_by_key() | trim,
    unique_key='month', incremental_strategy='delete+insert',
    post_hook="{{ delete_keys_not_written('month', changed_channel_months()) }}",
    publish=false,
) }}  -- intermediate: not for BI
-- What channel_kpis_monthly counts, per calendar month x channel (docs/metrics.md "Channel
-- KPIs"): each figure with its own channel and month (see channel_kpis_monthly), only what
-- happened on or before the as-of date. Every figure is of one month, so a night restates
-- the months whose inputs changed (macros/marts_refresh.sql, changed_channel_months) and the
-- mart joins this small table onto its grid instead of reading every order, answer and
-- session again. A (month, channel) with no data at all has no row.
-- depends_on: {{ ref('stg_shop__orders') }} {{ ref('stg_shop__sessions') }}
{%- set months = '(select month from changed_months)' if is_incremental() else none %}
with
{%- if is_incremental() %}
-- the months restated tonight, computed once
changed_months as materialized (
    select month from {{ changed_channel_months() }} as m (month)
),
{%- endif %}

as_of as (
    select as_of_date from {{ ref('as_of') }}
),

orders as (
    select
        o.order_id,
        o.customer_id,
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
    {%- if months %}
        and o.order_month in {{ months }}
        -- a range the scan can skip row groups by (the table is about in date order)
        and o.order_date >= (select min(month) from changed_months)
    {%- endif %}
),

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

sequence as (
    select *
    from {{ ref('int_order_sequence') }}
    {%- if months %}
    where order_month in {{ months }} and order_date >= (select min(month) from changed_months)
    {%- endif %}
),

first_orders as (
    select order_month as month, coalesce(channel, 'unknown') as channel, count(*) as new_customers
    from sequence
    where order_number = 1
    group by all
),

customer_months as (
    select customer_id, order_month as month, max(order_number) as orders_to_date
    from sequence
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
    {%- if months %}
        and s.session_date >= (select min(month) from changed_months)
        and cast(date_trunc('month', s.session_date) as date) in {{ months }}
    {%- endif %}
    group by all
),

feedback_stats as (
    select
        f.submitted_month as month,
        coalesce(f.channel, 'unknown') as channel,
        count(*) as answers,
        count(f.nps_score) as nps_responses,
        count(*) filter (where f.is_promoter) as promoters,
        count(*) filter (where f.nps_score between 7 and 8) as passives,
        count(*) filter (where f.is_detractor) as detractors,
        count(f.csat_score) as csat_responses,
        count(*) filter (where f.is_satisfied) as satisfied_responses,
        avg(f.csat_score) as csat_mean
    from answers as f
    {%- if months %}
    where f.submitted_month in {{ months }}
    {%- endif %}
    group by all
),

keys as (
    select month, channel from order_stats
    union
    select month, channel from first_orders
    union
    select month, channel from session_stats
    union
    select month, channel from feedback_stats
)

select
    k.month,
    k.channel,
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
    coalesce(f.answers, 0) as answers,
    coalesce(f.nps_responses, 0) as nps_responses,
    coalesce(f.promoters, 0) as promoters,
    coalesce(f.passives, 0) as passives,
    coalesce(f.detractors, 0) as detractors,
    coalesce(f.csat_responses, 0) as csat_responses,
    coalesce(f.satisfied_responses, 0) as satisfied_responses,
    f.csat_mean
from keys as k
left join order_stats as o on o.month = k.month and o.channel = k.channel
left join first_orders as n on n.month = k.month and n.channel = k.channel
left join repeat_stats as r on r.month = k.month and r.channel = k.channel
left join session_stats as s on s.month = k.month and s.channel = k.channel
left join feedback_stats as f on f.month = k.month and f.channel = k.channel
