-- Inter-purchase intervals pooled (docs/metrics.md "Repeat purchase and frequency"): the days
-- between consecutive valid orders of a customer (two orders on one day give a 0-day gap),
-- on or before the as-of date. Grain: one row overall (dimension 'overall', value 'all') and
-- one per acquisition channel (dimension 'channel', the customer's), every channel with a
-- customer who has a valid order. The mean and median are of ALL the gaps of the group's
-- customers pooled, not an average of per-customer means (those are in dim_customers): a
-- customer with many orders weighs in with many gaps. NULL where nobody has a second order.
-- each valid order's gap to the customer's previous one (int_order_sequence, incremental)
with gaps as (
    select customer_id, gap_days
    from {{ ref('int_order_sequence') }}
),

customers as (
    select
        c.customer_id,
        c.acquisition_channel,
        g.gap_days
    from {{ ref('clv_customers') }} as c
    left join gaps as g on g.customer_id = c.customer_id and g.gap_days is not null
),

dimensions as (
    select 'overall' as dimension, 'all' as dimension_value, * from customers
    union all
    select 'channel' as dimension, acquisition_channel as dimension_value, * from customers
)

select
    dimension,
    dimension_value,
    count(distinct customer_id) as customers,
    count(distinct customer_id) filter (where gap_days is not null) as repeat_customers,
    count(gap_days) as intervals,
    cast(avg(gap_days) as double) as mean_days_between_orders,
    cast(median(gap_days) as double) as median_days_between_orders
from dimensions
group by dimension, dimension_value
