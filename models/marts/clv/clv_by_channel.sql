{%- set min_tenure_days = purchase_rate_min_tenure_days() -%}
-- CLV, CAC and CLV:CAC per acquisition channel (docs/metrics.md "Customer lifetime value").
-- Grain: acquisition channel (the customer's), every channel with a customer who has a valid
-- order, plus every channel with marketing spend.
-- - avg_historical_clv: mean net revenue to date of the channel's customers.
-- - aov: pooled, the channel customers' net revenue / their valid orders.
-- - purchases_per_year: pooled, sum(valid orders) / sum(customer-years), a customer's years
--   being max(days from first valid order to as-of, {{ min_tenure_days }}) / 365: a customer
--   observed for less than that counts as that long (a one-day customer does not explode it).
-- - monthly_churn_rate: pooled over the channel's complete calendar months (month end on or
--   before the as-of date) of the monthly churn movements (churn_monthly_by_channel):
--   sum(churned) / sum(active_start). annual_churn_rate = 1 - (1 - monthly_churn_rate)^12.
-- - expected_lifetime_years = 1 / annual_churn_rate (NULL when that is 0 or unknown).
-- - simple_clv = aov x purchases_per_year x expected_lifetime_years x var('gross_margin').
-- - cac = marketing spend of the channel / new customers acquired through it, over the
--   whole period of cac_monthly (first order month to the as-of date); NULL without spend
--   and NULL without new customers.
with customers as (
    select
        acquisition_channel,
        count(*) as customers,
        sum(valid_orders) as valid_orders,
        cast(sum(net_revenue) as decimal(18, 4)) as net_revenue,
        {{ money_divide('sum(historical_clv)', 'count(historical_clv)') }} as avg_historical_clv,
        cast(sum(greatest(tenure_days, {{ min_tenure_days }})) as double) / 365 as customer_years
    from {{ ref('clv_customers') }}
    group by acquisition_channel
),

churn as (
    select
        coalesce(acquisition_channel, 'unknown') as acquisition_channel,
        sum(active_start) as churn_active_start,
        sum(churned) as churned
    from {{ ref('churn_monthly_by_channel') }}
    where period_end = last_day(month)
    group by all
),

acquisition as (
    select
        channel as acquisition_channel,
        sum(spend) as marketing_spend,
        sum(new_customers) as new_customers
    from {{ ref('cac_monthly') }}
    group by channel
),

channels as (
    select acquisition_channel from customers
    union
    select acquisition_channel from acquisition where marketing_spend is not null
),

rates as (
    select
        ch.acquisition_channel,
        coalesce(c.customers, 0) as customers,
        coalesce(c.valid_orders, 0) as valid_orders,
        cast(coalesce(c.net_revenue, 0) as decimal(18, 4)) as net_revenue,
        c.avg_historical_clv,
        {{ money_divide('c.net_revenue', 'c.valid_orders') }} as aov,
        c.customer_years,
        cast({{ safe_divide('c.valid_orders', 'c.customer_years') }} as double)
            as purchases_per_year,
        coalesce(r.churn_active_start, 0) as churn_active_start,
        coalesce(r.churned, 0) as churned,
        cast({{ safe_divide('r.churned', 'r.churn_active_start') }} as double)
            as monthly_churn_rate,
        cast(a.marketing_spend as decimal(18, 4)) as marketing_spend,
        coalesce(a.new_customers, 0) as new_customers,
        {{ money_divide('a.marketing_spend', 'a.new_customers') }} as cac
    from channels as ch
    left join customers as c on c.acquisition_channel = ch.acquisition_channel
    left join churn as r on r.acquisition_channel = ch.acquisition_channel
    left join acquisition as a on a.acquisition_channel = ch.acquisition_channel
),

lifetimes as (
    select
        *,
        {{ annual_churn_rate('monthly_churn_rate') }} as annual_churn_rate,
        {{ expected_lifetime_years('monthly_churn_rate') }} as expected_lifetime_years
    from rates
),

simple as (
    select
        *,
        cast({{ var('gross_margin') }} as double) as gross_margin,
        {{ simple_clv('aov', 'purchases_per_year', 'expected_lifetime_years') }} as simple_clv
    from lifetimes
)

select
    acquisition_channel,
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
    gross_margin,
    simple_clv,
    marketing_spend,
    new_customers,
    cac,
    cast({{ safe_divide('avg_historical_clv', 'cac') }} as double) as historical_clv_to_cac,
    cast({{ safe_divide('simple_clv', 'cac') }} as double) as simple_clv_to_cac
from simple
