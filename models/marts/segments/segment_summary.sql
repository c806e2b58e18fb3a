-- Customers and value per segment at the as-of date, one row per (dimension, segment) on a
-- complete list: every RFM segment of rfm_segment_grid, every buyer type, lifecycle stage and
-- loyalty tier, with 0 customers where nobody is in it. Each dimension partitions the
-- customers with at least one valid order (customer_segments), so its rows add up to them.
with labels as (
    select
        'rfm_segment' as dimension,
        rfm_segment as segment,
        min(segment_order) as segment_order
    from {{ ref('rfm_segment_grid') }}
    group by rfm_segment
    union all
    select 'buyer_type', segment, segment_order
    from (values ('frequent', 1), ('occasional', 2), ('one_time', 3)) as t (segment, segment_order)
    union all
    select 'lifecycle_stage', segment, segment_order
    from (
        values ('new', 1), ('active', 2), ('reactivated', 3), ('at_risk', 4), ('churned', 5)
    ) as t (segment, segment_order)
    union all
    select 'loyalty_tier', segment, segment_order
    from (values ('diamond', 1), ('gold', 2), ('regular', 3)) as t (segment, segment_order)
),

customers as (
    select 'rfm_segment' as dimension, rfm_segment as segment, *
    from {{ ref('customer_segments') }}
    union all
    select 'buyer_type' as dimension, buyer_type as segment, *
    from {{ ref('customer_segments') }}
    union all
    select 'lifecycle_stage' as dimension, lifecycle_stage as segment, *
    from {{ ref('customer_segments') }}
    union all
    select 'loyalty_tier' as dimension, loyalty_tier as segment, *
    from {{ ref('customer_segments') }}
),

stats as (
    select
        dimension,
        segment,
        count(*) as customers,
        cast(sum(monetary) as decimal(18, 4)) as net_revenue,
        sum(frequency) as valid_orders,
        avg(recency_days) as avg_recency_days,
        avg(frequency) as avg_frequency,
        {{ money_divide('sum(monetary)', 'count(monetary)') }} as avg_monetary,
        cast(sum(trailing_12m_net_spend) as decimal(18, 4)) as trailing_12m_net_spend,
        sum(loyalty_points) as loyalty_points
    from customers
    group by dimension, segment
),

totals as (
    select count(*) as all_customers from {{ ref('customer_segments') }}
)

select
    l.dimension,
    l.segment,
    l.segment_order,
    coalesce(s.customers, 0) as customers,
    cast({{ safe_divide('coalesce(s.customers, 0)', 't.all_customers') }} as double)
        as share_of_customers,
    cast(coalesce(s.valid_orders, 0) as bigint) as valid_orders,
    cast(coalesce(s.net_revenue, 0) as decimal(18, 4)) as net_revenue,
    s.avg_monetary as avg_net_revenue,
    cast(s.avg_recency_days as double) as avg_recency_days,
    cast(s.avg_frequency as double) as avg_frequency,
    cast(coalesce(s.trailing_12m_net_spend, 0) as decimal(18, 4)) as trailing_12m_net_spend,
    cast(coalesce(s.loyalty_points, 0) as bigint) as loyalty_points
from labels as l
cross join totals as t
left join stats as s on s.dimension = l.dimension and s.segment = l.segment
