{{ config(
    materialized=refreshed_by_key() | trim,
    unique_key='order_id', incremental_strategy='delete+insert',
    post_hook="{{ delete_keys_not_written('order_id', changed_keys('order_id', [ref('int_order_lines')])) }}",
    publish=false,
) }}  -- intermediate: not for BI
-- Shared product logic (docs/metrics.md "Products"): one row per line of a valid order placed on
-- or before the as-of date, with the returns matched to it and its order's complaint flag
-- (int_order_lines matches them, incrementally; here only which lines count as of the day).
-- Incremental: the orders int_order_lines wrote again tonight; an order no longer valid
-- loses its lines (the post_hook, macros/marts_refresh.sql). Whether a line counts is a
-- property of its own row: without var as_of the as-of date is the latest order day, on or
-- after every order's; a new var as_of rebuilds staging, and so this table, whole.
select * exclude (is_valid)
from {{ ref('int_order_lines') }}
where is_valid and order_date <= (select as_of_date from {{ ref('as_of') }})
{%- if is_incremental() %}
    and order_id in {{ changed_keys('order_id', [ref('int_order_lines')]) }}
{%- endif %}
