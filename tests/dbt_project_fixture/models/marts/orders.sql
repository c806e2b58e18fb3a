{{ log("orders: pivoting payment methods found in " ~ var('payment_methods_table'), info=True) }}
{%- set payment_methods = shop_utils.get_column_values(ref(var('payment_methods_table')), 'payment_method') -%}

with payments as (
    select
        order_id,
        {% for method in payment_methods -%}
        sum(case when payment_method = '{{ method }}' then amount else 0 end) as {{ method }}_amount,
        {% endfor -%}
        sum(amount) as amount
    from {{ ref('stg_payments') }}
    group by order_id
)

select
    orders.order_id,
    orders.customer_id,
    orders.order_date,
    orders.status,
    {% for method in payment_methods -%}
    payments.{{ method }}_amount,
    {% endfor -%}
    payments.amount
from {{ ref('stg_orders') }} as orders
left join payments using (order_id)
