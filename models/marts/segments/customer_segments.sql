{#- Choices (docs/metrics.md "Segmentation", "Lifecycle stage", "Repeat purchase and frequency"),
    checked before anything runs. -#}
{%- set frequent_min = var('frequent_min_orders') -%}
{%- set at_risk_factor = var('at_risk_factor') -%}
{%- set tiers = var('tier_thresholds') -%}
{%- set recent_days = 30 -%}  {#- docs/metrics.md: new / reactivated = within the last 30 days #}
{%- if frequent_min is not number or frequent_min < 2 -%}
{{ exceptions.raise_compiler_error("var frequent_min_orders must be a number >= 2, got " ~ frequent_min ~ " (1 order is 'one_time')") }}
{%- endif -%}
{%- if at_risk_factor is not number or at_risk_factor <= 0 -%}
{{ exceptions.raise_compiler_error("var at_risk_factor must be a number > 0, got " ~ at_risk_factor) }}
{%- endif -%}
{%- if tiers is not mapping or tiers.get('gold') is not number or tiers.get('diamond') is not number
    or not (0 < tiers['gold'] < tiers['diamond']) -%}
{{ exceptions.raise_compiler_error("var tier_thresholds must be {gold: G, diamond: D} with 0 < G < D (net spend), got " ~ tiers) }}
{%- endif -%}
-- Segments per customer at the as-of date: one row per customer with at least one valid order
-- on or before it (dim_customers' customers with a first order; the others are in no segment).
-- - RFM: recency = days since the last valid order, frequency = valid orders, monetary = net
--   revenue to date. Scores 1-5 by quintile, ntile(5), 5 the best: recency reversed (the most
--   recent fifth scores 5), frequency and monetary ascending. ntile splits ties by position,
--   so ties are ordered by the other two values, then customer_id (deterministic).
--   fm_score = (f_score + m_score) / 2 rounded half up; rfm_segment from rfm_segment_grid.
-- - buyer_type: one_time (1 valid order), occasional (2 to {{ frequent_min - 1 }}), frequent
--   (>= {{ frequent_min }}, var frequent_min_orders).
-- - lifecycle_stage, the first that applies (W = churn_window_days, d = days since last order):
--   churned   d > W (dim_customers.is_churned);
--   new       first valid order at most {{ recent_days }} days before as-of;
--   reactivated  a valid order at most {{ recent_days }} days before as-of came more than W days
--             after the previous one (the customer had churned, then came back);
--   at_risk   d > at_risk_factor ({{ at_risk_factor }}) x the reference gap: the customer's own
--             median gap between valid orders, or the population median (all gaps of all
--             customers pooled) for a customer with one purchase day (one order, or several
--             all on one day: no interval to go by);
--   active    otherwise.
-- - loyalty: trailing 12-month net spend = net revenue of valid orders dated after the same
--   day a year before the as-of date (Feb 29 -> Feb 28) up to as-of; tier diamond from
--   {{ tiers['diamond'] }}, gold from {{ tiers['gold'] }} (var tier_thresholds), else regular;
--   points = floor(spend / 100) x multiplier (regular 1, gold 2, diamond 3), never negative.
with as_of as (
    select
        as_of_date,
        -- the first day of the trailing 12 months: the day after the same day a year earlier
        make_date(
            year(as_of_date) - 1,
            month(as_of_date),
            least(
                day(as_of_date),
                day(last_day(make_date(year(as_of_date) - 1, month(as_of_date), 1)))
            )
        ) + 1 as spend_window_start
    from {{ ref('as_of') }}
),

-- each valid order's gap to the customer's previous one (int_order_sequence, incremental)
gaps as (
    select customer_id, order_date, gap_days, net_revenue
    from {{ ref('int_order_sequence') }}
),

population as (
    select median(gap_days) as population_median_gap_days from gaps
),

-- the latest order that came back after a lapse longer than the churn window
reactivations as (
    select customer_id, max(order_date) as last_reactivation_date
    from gaps
    where gap_days > {{ churn_window_days() }}
    group by customer_id
),

trailing_spend as (
    select v.customer_id, sum(v.net_revenue) as trailing_12m_net_spend
    from gaps as v
    cross join as_of as a
    where v.order_date >= a.spend_window_start
    group by v.customer_id
),

customers as (
    select
        d.customer_id,
        coalesce(d.region, 'unknown') as region,
        coalesce(d.acquisition_channel, 'unknown') as acquisition_channel,
        d.cohort_month,
        d.first_order_date,
        d.last_order_date,
        d.days_since_last_order as recency_days,
        d.valid_orders as frequency,
        d.net_revenue as monetary,
        d.purchase_days,
        d.median_days_between_orders,
        d.is_churned,
        d.as_of_date,
        r.last_reactivation_date,
        cast(coalesce(t.trailing_12m_net_spend, 0) as decimal(18, 4)) as trailing_12m_net_spend,
        p.population_median_gap_days,
        case
            when d.purchase_days >= 2 then d.median_days_between_orders
            else p.population_median_gap_days
        end as reference_gap_days
    from {{ ref('dim_customers') }} as d
    cross join population as p
    left join reactivations as r on r.customer_id = d.customer_id
    left join trailing_spend as t on t.customer_id = d.customer_id
    where d.first_order_date is not null
),

scored as (
    select
        *,
        ntile(5) over (order by recency_days desc, frequency, monetary, customer_id) as r_score,
        ntile(5) over (order by frequency, monetary, recency_days desc, customer_id) as f_score,
        ntile(5) over (order by monetary, frequency, recency_days desc, customer_id) as m_score
    from customers
),

staged as (
    select
        *,
        cast(floor((f_score + m_score + 1) / 2) as integer) as fm_score,
        cast({{ at_risk_factor }} * reference_gap_days as double) as at_risk_after_days,
        case
            when trailing_12m_net_spend >= {{ tiers['diamond'] }} then 'diamond'
            when trailing_12m_net_spend >= {{ tiers['gold'] }} then 'gold'
            else 'regular'
        end as loyalty_tier
    from scored
)

select
    s.customer_id,
    s.region,
    s.acquisition_channel,
    s.cohort_month,
    s.first_order_date,
    s.last_order_date,
    s.recency_days,
    s.frequency,
    s.monetary,
    s.r_score,
    s.f_score,
    s.m_score,
    s.fm_score,
    cast(s.r_score as varchar) || cast(s.f_score as varchar) || cast(s.m_score as varchar)
        as rfm_cell,
    g.rfm_segment,
    case
        when s.frequency = 1 then 'one_time'
        when s.frequency < {{ frequent_min }} then 'occasional'
        else 'frequent'
    end as buyer_type,
    s.purchase_days,
    s.median_days_between_orders,
    s.population_median_gap_days,
    s.reference_gap_days,
    s.at_risk_after_days,
    s.last_reactivation_date,
    s.is_churned,
    case
        when s.is_churned then 'churned'
        when datediff('day', s.first_order_date, s.as_of_date) <= {{ recent_days }} then 'new'
        when datediff('day', s.last_reactivation_date, s.as_of_date) <= {{ recent_days }}
            then 'reactivated'
        when s.recency_days > s.at_risk_after_days then 'at_risk'
        else 'active'
    end as lifecycle_stage,
    s.trailing_12m_net_spend,
    s.loyalty_tier,
    case s.loyalty_tier when 'diamond' then 3 when 'gold' then 2 else 1 end as tier_multiplier,
    cast(
        greatest(floor(s.trailing_12m_net_spend / 100), 0)
        * case s.loyalty_tier when 'diamond' then 3 when 'gold' then 2 else 1 end
        as bigint
    ) as loyalty_points,
    s.as_of_date
from staged as s
inner join {{ ref('rfm_segment_grid') }} as g
    on g.r_score = s.r_score and g.fm_score = s.fm_score
