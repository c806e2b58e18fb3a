{{ config(materialized='incremental', unique_key='feedback_id', incremental_strategy='delete+insert') }}
-- One row per survey answer, with the order's channel and the customer's acquisition channel.
-- Incremental: the answers that arrived since the last run, and those whose order or
-- customer changed (macros/incremental.sql).
select
    f.feedback_id,
    f.customer_id,
    f.order_id,
    f.submitted_at,
    f.submitted_date,
    cast(date_trunc('month', f.submitted_date) as date) as submitted_month,
    coalesce(o.channel, c.acquisition_channel) as channel,
    c.acquisition_channel,
    f.nps_score,
    f.csat_score,
    f.nps_score >= 9 as is_promoter,
    f.nps_score <= 6 as is_detractor,
    f.csat_score >= 4 as is_satisfied,
    f.is_complaint,
    f.comment
from {{ ref('stg_shop__feedback') }} as f
left join {{ ref('stg_shop__orders') }} as o on o.order_id = f.order_id
left join {{ ref('stg_shop__customers') }} as c on c.customer_id = f.customer_id
{%- if is_incremental() %}
where f.feedback_id in (
    select feedback_id from {{ ref('stg_shop__feedback') }}
    where feedback_id in (select feedback_id from {{ changed_rows(ref('stg_shop__feedback')) }})
        or order_id in {{ changed_keys('order_id', [ref('stg_shop__orders')]) }}
        or customer_id in {{ changed_keys('customer_id', [ref('stg_shop__customers')]) }}
)
{%- endif %}
