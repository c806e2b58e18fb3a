-- Monthly churn movements per acquisition channel (the customer's), one row per calendar
-- month x channel, every month from the first cohort month to the as-of month for every
-- channel with a customer who ordered. Same definitions and balance as churn_monthly; the
-- channels of a month add up to churn_monthly's row.
with movements as (
    select
        month,
        acquisition_channel,
        period_start,
        period_end,
        count(*) filter (where is_active_start) as active_start,
        count(*) filter (where is_active_end) as active_end,
        count(*) filter (where is_new) as new_customers,
        count(*) filter (where is_churned) as churned,
        count(*) filter (where is_reactivated) as reactivated
    from {{ ref('int_customer_months') }}
    group by month, acquisition_channel, period_start, period_end
)

select
    *,
    {{ safe_divide('churned', 'active_start') }} as churn_rate,
    1 - {{ safe_divide('churned', 'active_start') }} as retention_rate
from movements
