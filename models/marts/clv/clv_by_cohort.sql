-- Average historical CLV (net revenue to date per customer) by cohort month, the calendar
-- month of the customer's first valid order. Grain: cohort month.
select
    cohort_month,
    count(*) as customers,
    sum(valid_orders) as valid_orders,
    cast(sum(net_revenue) as decimal(18, 4)) as net_revenue,
    {{ money_divide('sum(historical_clv)', 'count(historical_clv)') }} as avg_historical_clv,
    -- pooled: the cohort's net revenue / its valid orders, not an average of customers' AOVs
    {{ money_divide('sum(net_revenue)', 'sum(valid_orders)') }} as aov
from {{ ref('clv_customers') }}
group by cohort_month
