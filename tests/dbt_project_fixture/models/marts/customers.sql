{%- set as_of = modules.datetime.date(2024, 4, 1) -%}
select
    customers.customer_id,
    customers.first_name,
    customers.region,
    min(orders.order_date) as first_order,
    max(orders.order_date) as most_recent_order,
    count(orders.order_id) as number_of_orders,
    coalesce(sum(orders.amount) filter (where orders.status != 'returned'), 0) as customer_lifetime_value,
    {{ dbt.datediff("max(orders.order_date)", "date '" ~ as_of.isoformat() ~ "'", 'day') }} as days_since_last_order
from {{ ref('stg_customers') }} as customers
left join {{ ref('orders') }} as orders using (customer_id)
group by 1, 2, 3
