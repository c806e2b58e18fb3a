-- Monthly churn movements (docs/metrics.md "Churn"), one row per calendar month from the first
-- cohort month to the as-of month. Month-end snapshots from int_customer_months; the balance
-- active_end = active_start - churned + new_customers + reactivated holds exactly (W >= 30).
with movements as (
    select
        month,
        period_start,
        period_end,
        count(*) filter (where is_active_start) as active_start,
        count(*) filter (where is_active_end) as active_end,
        count(*) filter (where is_new) as new_customers,
        count(*) filter (where is_churned) as churned,
        count(*) filter (where is_reactivated) as reactivated
    from {{ ref('int_customer_months') }}
    group by month, period_start, period_end
)

select
    *,
    {{ safe_divide('churned', 'active_start') }} as churn_rate,
    1 - {{ safe_divide('churned', 'active_start') }} as retention_rate
from movements
