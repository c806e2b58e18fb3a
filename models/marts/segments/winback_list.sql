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

-- each customer's distinct products and categories first, whether in their last order
-- beside: string_agg(distinct ...) over every line cost twice as much
products as (
    select l.customer_id, l.product, bool_or(l.order_date = r.last_order_date) as in_last_order
    from lines as l
    inner join at_risk as r on r.customer_id = l.customer_id
    group by l.customer_id, l.product
),

categories as (
    select l.customer_id, l.category, bool_or(l.order_date = r.last_order_date) as in_last_order
    from lines as l
    inner join at_risk as r on r.customer_id = l.customer_id
    group by l.customer_id, l.category
),

bought_products as (
    select
        customer_id,
        string_agg(product, ', ' order by product) filter (where in_last_order)
            as last_order_products,
        string_agg(product, ', ' order by product) as products_bought,
        count(product) as distinct_products
    from products
    group by customer_id
),

bought_categories as (
    select
        customer_id,
        string_agg(category, ', ' order by category) filter (where in_last_order)
            as last_order_categories,
        string_agg(category, ', ' order by category) as categories_bought
    from categories
    group by customer_id
),

bought as (
    select
        p.customer_id,
        p.last_order_products,
        c.last_order_categories,
        p.products_bought,
        c.categories_bought,
        p.distinct_products
    from bought_products as p
    inner join bought_categories as c on c.customer_id = p.customer_id
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
