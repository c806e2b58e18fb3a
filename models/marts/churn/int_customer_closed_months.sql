{{ config(
    materialized=refreshed_by_key() | trim,
    unique_key='customer_id', incremental_strategy='delete+insert',
    post_hook="{{ delete_keys_not_written('customer_id', closed_month_customers()) }}",
    publish=false,
) }}  -- intermediate: not for BI
-- int_customer_months' rows of the months before the as-of month (docs/metrics.md "Churn"):
-- one row per customer with a valid order x calendar month, from the first month anyone
-- ordered to the month before the as-of month. These months are over, so their rows depend
-- on the customer's valid orders and acquisition channel only, not on the as-of date.
-- Incremental (delete+insert on customer_id): the customers whose closed months tonight can
-- change (macros/marts_refresh.sql closed_month_customers(): those sent tonight, and those
-- with an order written or replaced tonight in a closed month or who had no first order in
-- one) get all their months again; an order of the as-of month changes no closed month of a
-- customer who ordered before it. When the months
-- themselves change (the as-of date moved into a new month, or the first month anyone
-- ordered is another one) every customer is written again: one night a month costs what a
-- full build of this table does. A customer left without a valid order loses their rows
-- (the post_hook, macros/marts_refresh.sql).
-- depends_on: {{ ref('stg_shop__customers') }}
{%- set inc = is_incremental() %}
with as_of as (
    select as_of_date, as_of_month
    from {{ ref('as_of') }}
),

all_valid_orders as (
    select
        o.customer_id,
        o.order_date,
        o.order_month
    from {{ ref('fct_orders') }} as o
    cross join as_of as a
    where o.is_valid and o.order_date <= a.as_of_date
),

bounds as (
    select
        min(v.order_month) as first_month,
        cast(any_value(a.as_of_month) - interval 1 month as date) as last_month
    from all_valid_orders as v
    cross join as_of as a
),

{%- if inc %}

-- every customer is written again when the closed months are not those the table holds
stored as (
    select min(month) as first_month, max(month) as last_month from {{ this }}
),

rewrite_all as (
    select
        s.first_month is distinct from b.first_month
        or s.last_month is distinct from b.last_month as rewrite_all
    from stored as s
    cross join bounds as b
),

-- (no closed month yet: the table is empty and stays so until the next month)
{%- endif %}

valid_orders as (
    select v.*
    from all_valid_orders as v
    {%- if inc %}
    where (select rewrite_all from rewrite_all)
        or v.customer_id in {{ closed_month_customers() }}
    {%- endif %}
),

customers as (
    select
        v.customer_id,
        d.acquisition_channel,
        min(v.order_date) as first_order_date
    from valid_orders as v
    inner join {{ ref('dim_customers') }} as d on d.customer_id = v.customer_id
    group by v.customer_id, d.acquisition_channel
),

months as (
    {{ month_spine('bounds', 'first_month', 'last_month') }}
),

monthly_orders as (
    select
        customer_id,
        order_month,
        max(order_date) as last_order_in_month
    from valid_orders
    group by customer_id, order_month
),

snapshots as (
    select
        c.customer_id,
        c.acquisition_channel,
        m.month,
        cast(m.month - 1 as date) as period_start,
        last_day(m.month) as period_end,
        c.first_order_date,
        mo.last_order_in_month is not null as has_ordered,
        max(mo.last_order_in_month) over (
            partition by c.customer_id
            order by m.month
            rows between unbounded preceding and 1 preceding
        ) as last_order_date_at_start,
        max(mo.last_order_in_month) over (
            partition by c.customer_id
            order by m.month
            rows between unbounded preceding and current row
        ) as last_order_date_at_end
    from customers as c
    cross join months as m
    left join monthly_orders as mo
        on mo.customer_id = c.customer_id and mo.order_month = m.month
)

select
    customer_id,
    acquisition_channel,
    month,
    period_start,
    period_end,
    first_order_date,
    last_order_date_at_start,
    last_order_date_at_end,
    has_ordered,
    {{ customer_month_flags(churn_window_days()) }}
from snapshots
