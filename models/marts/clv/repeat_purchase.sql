{%- set window_days = var('repeat_window_days') -%}
{%- set frequent_min = var('frequent_min_orders') -%}
{%- if window_days is not number or window_days < 0 -%}
{{ exceptions.raise_compiler_error("var repeat_window_days must be a number of days >= 0, got " ~ window_days) }}
{%- endif -%}
{%- if frequent_min is not number or frequent_min < 2 -%}
{{ exceptions.raise_compiler_error("var frequent_min_orders must be a number >= 2, got " ~ frequent_min ~ " (1 order is 'one_time')") }}
{%- endif -%}
-- Repeat purchase and buyer types (docs/metrics.md "Repeat purchase and frequency"), counted in
-- valid orders on or before the as-of date (two orders on one day are two purchases).
-- Grain: one row per (dimension, dimension_value): 'overall' / 'all', 'cohort' / the cohort
-- month as 'YYYY-MM', 'channel' / the customer's acquisition channel.
-- - repeat_purchase_rate = customers with >= 2 valid orders / customers with >= 1.
-- - repeat_rate_window (repeat_rate_{{ window_days }}d): among customers whose first order is
--   at least {{ window_days }} days before as-of (window_eligible_customers), the share whose
--   second valid order is at most {{ window_days }} days after the first (inclusive; the same
--   day counts).
-- - buyer types: one_time (1 order), occasional (2 to {{ frequent_min - 1 }}),
--   frequent (>= {{ frequent_min }}, var frequent_min_orders).
-- each customer's second valid order, from int_order_sequence (numbered by date, time and
-- id there, so no sort of every order here)
with second_orders as (
    select customer_id, order_date
    from {{ ref('int_order_sequence') }}
    where order_number = 2
),

customers as (
    select
        c.customer_id,
        c.cohort_month,
        c.acquisition_channel,
        c.valid_orders,
        datediff('day', c.first_order_date, c.as_of_date) >= {{ window_days }}
            as is_window_eligible,
        datediff('day', c.first_order_date, c.as_of_date) >= {{ window_days }}
        and n.order_date is not null
        and datediff('day', c.first_order_date, n.order_date) <= {{ window_days }}
            as repeated_in_window
    from {{ ref('clv_customers') }} as c
    left join second_orders as n on n.customer_id = c.customer_id
),

dimensions as (
    select 'overall' as dimension, 'all' as dimension_value, * from customers
    union all
    select 'cohort' as dimension, strftime(cohort_month, '%Y-%m') as dimension_value, *
    from customers
    union all
    select 'channel' as dimension, acquisition_channel as dimension_value, * from customers
),

counts as (
    select
        dimension,
        dimension_value,
        count(*) as customers,
        count(*) filter (where valid_orders >= 2) as repeat_customers,
        count(*) filter (where is_window_eligible) as window_eligible_customers,
        count(*) filter (where repeated_in_window) as window_repeat_customers,
        count(*) filter (where valid_orders = 1) as one_time_customers,
        count(*) filter (
            where valid_orders >= 2 and valid_orders < {{ frequent_min }}
        ) as occasional_customers,
        count(*) filter (where valid_orders >= {{ frequent_min }}) as frequent_customers
    from dimensions
    group by dimension, dimension_value
)

select
    dimension,
    dimension_value,
    customers,
    repeat_customers,
    cast({{ safe_divide('repeat_customers', 'customers') }} as double) as repeat_purchase_rate,
    {{ window_days }} as repeat_window_days,
    window_eligible_customers,
    window_repeat_customers,
    cast({{ safe_divide('window_repeat_customers', 'window_eligible_customers') }} as double)
        as repeat_rate_window,
    one_time_customers,
    occasional_customers,
    frequent_customers,
    {{ frequent_min }} as frequent_min_orders
from counts
