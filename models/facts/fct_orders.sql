{{ config(materialized='incremental', unique_key='order_id', on_schema_change='sync_all_columns') }}
-- One row per order. Revenue counts valid (not cancelled) orders only; a refund is taken
-- off the order it belongs to, in that order's month. Incremental: an order is reprocessed
-- when anything that feeds its row (the order, its lines, a return, feedback) arrived or
-- changed since the last run, whatever its timestamps say: the orders staging wrote in this
-- run (macros/incremental.sql), and only those are read.
{%- set changed = changed_keys('order_id', [
    ref('stg_shop__orders'), ref('stg_shop__order_items'), ref('stg_shop__returns'),
    ref('stg_shop__feedback'),
]) if is_incremental() else none %}
{%- macro only_changed(prefix='where', column='order_id') -%}
{%- if changed %} {{ prefix }} {{ column }} in {{ changed }}{% endif -%}
{%- endmacro %}
with items as (
    select
        order_id,
        count(*) as line_count,
        sum(quantity) as item_count,
        sum(line_amount) as order_amount
    from {{ ref('stg_shop__order_items') }}
    {{- only_changed() }}
    group by order_id
),

refunds as (
    select
        order_id,
        sum(refund_amount) as refund_amount,
        max(returned_at) as last_returned_at
    from {{ ref('stg_shop__returns') }}
    {{- only_changed() }}
    group by order_id
),

feedback as (
    select
        order_id,
        count(*) filter (where is_complaint) as complaint_count,
        max(submitted_at) as last_feedback_at
    from {{ ref('stg_shop__feedback') }}
    where order_id is not null {{- only_changed('and') }}
    group by order_id
),

orders as (
    select
        o.order_id,
        o.customer_id,
        o.ordered_at,
        o.order_date,
        cast(date_trunc('month', o.order_date) as date) as order_month,
        o.channel,
        o.status,
        o.is_valid,
        o.status = 'returned' as is_returned,
        o.status = 'cancelled' as is_cancelled,
        coalesce(i.line_count, 0) as line_count,
        coalesce(i.item_count, 0) as item_count,
        cast(coalesce(i.order_amount, 0) as decimal(18, 4)) as order_amount,
        cast(case when o.is_valid then coalesce(i.order_amount, 0) else 0 end
            as decimal(18, 4)) as gross_revenue,
        cast(case when o.is_valid then coalesce(r.refund_amount, 0) else 0 end
            as decimal(18, 4)) as refund_amount,
        o.promised_at,
        o.delivered_at,
        o.status in ('shipped', 'delivered', 'returned') as is_shipped,
        o.delivered_at is not null
            and o.promised_at is not null
            and cast(o.delivered_at as date) <= cast(o.promised_at as date) as is_on_time,
        o.delivered_at is not null
            and o.promised_at is not null
            and cast(o.delivered_at as date) > cast(o.promised_at as date) as is_delivered_late,
        coalesce(f.complaint_count, 0) as complaint_count,
        coalesce(f.complaint_count, 0) > 0 as has_complaint,
        greatest(
            o.updated_at,
            coalesce(r.last_returned_at, o.updated_at),
            coalesce(f.last_feedback_at, o.updated_at)
        ) as source_updated_at
    from {{ ref('stg_shop__orders') }} as o
    left join items as i on i.order_id = o.order_id
    left join refunds as r on r.order_id = o.order_id
    left join feedback as f on f.order_id = o.order_id
    {{- only_changed('where', 'o.order_id') }}
)

select
    * exclude (source_updated_at),
    cast(gross_revenue - refund_amount as decimal(18, 4)) as net_revenue,
    source_updated_at
from orders
