{{ config(materialized='view') }}
-- Churn status per customer with at least one valid order, at the as-of date
-- (docs/metrics.md "Churn", per customer). dim_customers computes the flag and date; this mart
-- only selects them, so the two can never disagree. A view: a night would otherwise write
-- every customer again for the as-of date alone (the serving file holds it as a table).
select
    customer_id,
    acquisition_channel,
    cohort_month,
    last_order_date,
    days_since_last_order,
    is_churned,
    churn_date,
    as_of_date
from {{ ref('dim_customers') }}
where first_order_date is not null
