-- singular test: every row returned is a failure
select orders.order_id
from {{ ref('orders') }} as orders
left join {{ ref('stg_payments') }} as payments using (order_id)
where orders.status = 'completed'
group by orders.order_id
having coalesce(sum(payments.amount), 0) = 0
