{{ config(materialized='table', publish=false) }}  -- intermediate: not for BI
-- Shared product logic (docs/metrics.md "Products"): one row per line of a valid order placed on
-- or before the as-of date, with the returns matched to it and its order's complaint flag
-- (int_order_lines matches them, incrementally; here only which lines count as of the day).
select * exclude (is_valid)
from {{ ref('int_order_lines') }}
where is_valid and order_date <= (select as_of_date from {{ ref('as_of') }})
