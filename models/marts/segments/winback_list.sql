-- The win-back list (docs/metrics.md "Lifecycle stage"): one row per customer whose lifecycle
-- stage at the as-of date is at_risk (customer_segments): not churned yet, but longer without
-- an order than at_risk_factor x their usual gap. With what they bought and when, so a
-- campaign can recall them with the right products before they churn. Valid orders on or
-- before the as-of date only.
with at_risk as (
    select *
    from {{ ref('customer_segments') }}
    where lifecycle_stage = 'at_risk'
),

lines as (
    select
        i.customer_id,
        i.order_date,
        coalesce(i.product_name, i.product_id) as product,
        coalesce(i.category, 'unknown') as category
    from {{ ref('fct_order_items') }} as i
    cross join {{ ref('as_of') }} as a
    where i.is_valid and i.order_date <= a.as_of_date
        and i.customer_id in (select customer_id from at_risk)
),

bought as (
    select
        l.customer_id,
        string_agg(distinct l.product, ', ' order by l.product)
            filter (where l.order_date = r.last_order_date) as last_order_products,
        string_agg(distinct l.category, ', ' order by l.category)
            filter (where l.order_date = r.last_order_date) as last_order_categories,
        string_agg(distinct l.product, ', ' order by l.product) as products_bought,
        string_agg(distinct l.category, ', ' order by l.category) as categories_bought,
        count(distinct l.product) as distinct_products
    from lines as l
    inner join at_risk as r on r.customer_id = l.customer_id
    group by l.customer_id
)

select
    r.customer_id,
    r.region,
    r.acquisition_channel,
    r.loyalty_tier,
    r.rfm_segment,
    r.buyer_type,
    r.first_order_date,
    r.last_order_date,
    r.recency_days as days_since_last_order,
    r.frequency as valid_orders,
    r.monetary as net_revenue,
    r.trailing_12m_net_spend,
    r.median_days_between_orders,
    r.reference_gap_days,
    r.at_risk_after_days,
    {{ churn_window_days() }} - r.recency_days as days_until_churn,
    r.last_order_date + {{ churn_window_days() }} + 1 as churn_date_if_no_order,
    b.last_order_products,
    b.last_order_categories,
    b.products_bought,
    b.categories_bought,
    coalesce(b.distinct_products, 0) as distinct_products,
    r.as_of_date
from at_risk as r
left join bought as b on b.customer_id = r.customer_id
