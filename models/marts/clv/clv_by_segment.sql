{%- set min_tenure_days = purchase_rate_min_tenure_days() -%}
-- Historical and simple CLV per segment (docs/metrics.md "Customer lifetime value"), the
-- segments of customer_segments at the as-of date. Grain: (dimension, segment) on
-- segment_summary's complete list: every RFM segment, buyer type, lifecycle stage and loyalty
-- tier, with 0 customers and NULL figures where nobody is in it. The same definitions as
-- clv_by_channel, a customer's segment taking the place of their acquisition channel:
-- - aov, purchases_per_year: pooled over the segment's customers (tenure floor
--   {{ min_tenure_days }} days, var purchase_rate_min_tenure_days);
-- - monthly_churn_rate: the monthly churn movements (int_customer_months) of the segment's
--   customers, pooled over the complete calendar months: sum(churned) / sum(active_start);
--   annual_churn_rate = 1 - (1 - monthly)^12; expected_lifetime_years = 1 / annual;
-- - simple_clv = aov x purchases_per_year x expected_lifetime_years x var('gross_margin').
-- The segment is today's (as of the as-of date), its churn history the past of the customers
-- in it: a segment that nobody left in the past (champions, say) has no lifetime estimate.
with members as (
    select 'rfm_segment' as dimension, rfm_segment as segment, customer_id
    from {{ ref('customer_segments') }}
    union all
    select 'buyer_type', buyer_type, customer_id from {{ ref('customer_segments') }}
    union all
    select 'lifecycle_stage', lifecycle_stage, customer_id from {{ ref('customer_segments') }}
    union all
    select 'loyalty_tier', loyalty_tier, customer_id from {{ ref('customer_segments') }}
),

value as (
    select
        m.dimension,
        m.segment,
        count(*) as customers,
        sum(c.valid_orders) as valid_orders,
        cast(sum(c.net_revenue) as decimal(18, 4)) as net_revenue,
        cast(sum(greatest(c.tenure_days, {{ min_tenure_days }})) as double) / 365
            as customer_years
    from members as m
    inner join {{ ref('clv_customers') }} as c on c.customer_id = m.customer_id
    group by m.dimension, m.segment
),

-- each customer's monthly churn movements summed first (about 23 months a customer), then
-- per segment: joining the segments to every customer-month would make 4 x the months
customer_churn as (
    select
        customer_id,
        count(*) filter (where is_active_start) as churn_active_start,
        count(*) filter (where is_churned) as churned
    from {{ ref('int_customer_months') }}
    where period_end = last_day(month)
    group by customer_id
),

churn as (
    select
        m.dimension,
        m.segment,
        cast(sum(cc.churn_active_start) as bigint) as churn_active_start,
        cast(sum(cc.churned) as bigint) as churned
    from members as m
    inner join customer_churn as cc on cc.customer_id = m.customer_id
    group by m.dimension, m.segment
),

rates as (
    select
        l.dimension,
        l.segment,
        l.segment_order,
        coalesce(v.customers, 0) as customers,
        cast(coalesce(v.valid_orders, 0) as bigint) as valid_orders,
        cast(coalesce(v.net_revenue, 0) as decimal(18, 4)) as net_revenue,
        {{ money_divide('v.net_revenue', 'v.customers') }} as avg_historical_clv,
        {{ money_divide('v.net_revenue', 'v.valid_orders') }} as aov,
        v.customer_years,
        cast({{ safe_divide('v.valid_orders', 'v.customer_years') }} as double)
            as purchases_per_year,
        coalesce(r.churn_active_start, 0) as churn_active_start,
        coalesce(r.churned, 0) as churned,
        cast({{ safe_divide('r.churned', 'r.churn_active_start') }} as double)
            as monthly_churn_rate
    from {{ ref('segment_summary') }} as l
    left join value as v on v.dimension = l.dimension and v.segment = l.segment
    left join churn as r on r.dimension = l.dimension and r.segment = l.segment
),

lifetimes as (
    select
        *,
        {{ annual_churn_rate('monthly_churn_rate') }} as annual_churn_rate,
        {{ expected_lifetime_years('monthly_churn_rate') }} as expected_lifetime_years
    from rates
)

select
    dimension,
    segment,
    segment_order,
    customers,
    valid_orders,
    net_revenue,
    avg_historical_clv,
    aov,
    customer_years,
    purchases_per_year,
    churn_active_start,
    churned,
    monthly_churn_rate,
    annual_churn_rate,
    expected_lifetime_years,
    cast({{ var('gross_margin') }} as double) as gross_margin,
    {{ simple_clv('aov', 'purchases_per_year', 'expected_lifetime_years') }} as simple_clv
from lifetimes
