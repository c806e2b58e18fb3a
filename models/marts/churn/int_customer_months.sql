{{ config(materialized='view', publish=false) }}  -- intermediate: not for BI
-- Shared churn logic (docs/metrics.md "Churn"), one row per customer with a valid order x calendar
-- month, from the first month anyone ordered to the as-of month. Month-end snapshots:
-- the last valid order date on or before period_start and on or before period_end (a running
-- max over months, never a customer x day grid), whether the customer was active at each
-- (d - last <= W days), and this month's movement flags. Orders after the as-of date are
-- not known yet and are left out, so the as-of month ends on the as-of date.
-- Two tables, each checked on its own: the months before the as-of month, which are over
-- (int_customer_closed_months, incremental), and the as-of month, which moves with the
-- as-of date every night for every customer (int_customer_as_of_month, full).
select * from {{ ref('int_customer_closed_months') }}
union all
select * from {{ ref('int_customer_as_of_month') }}
