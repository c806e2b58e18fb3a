{{ config(materialized='table', publish=false) }}
-- Per customer, the BG/NBD and Gamma-Gamma inputs exactly as `lifetimes` defines them
-- (docs/metrics.md "Customer lifetime value"), counting purchase *days*: the valid orders of a
-- day are one purchase worth their summed net revenue. frequency = purchase days - 1,
-- recency = first to last purchase day, tenure = first purchase day to as-of (days),
-- monetary_value = mean value of the repeat purchase days (0 without one). Orders after
-- the as-of date are not known yet.
with as_of as (
    select as_of_date from {{ ref('as_of') }}
),

-- one row per purchase day; a day is the first when it holds the customer's first valid
-- order (int_order_sequence numbers them by date), so no sort of the days is needed
purchase_days as (
    select
        customer_id,
        order_date,
        sum(net_revenue) as day_value,
        min(order_number) > 1 as is_repeat_day
    from {{ ref('int_order_sequence') }}
    group by customer_id, order_date
)

select
    customer_id,
    count(*) - 1 as frequency,
    date_diff('day', min(order_date), max(order_date)) as recency_days,
    date_diff('day', min(order_date), (select as_of_date from as_of)) as tenure_days,
    -- the mean as one division of the exact DECIMAL sum: avg() of a DECIMAL is a DOUBLE
    -- on DuckDB but a DECIMAL rounded to 8 places on Spark, and the fits amplify that
    coalesce(
        cast(sum(day_value) filter (where is_repeat_day) as double)
            / nullif(count(*) filter (where is_repeat_day), 0),
        0
    ) as monetary_value,
    (select as_of_date from as_of) as as_of_date
from purchase_days
group by customer_id
