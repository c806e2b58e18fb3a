-- Distribution (docs/metrics.md "Products"): units and net revenue by order month x product
-- category x customer region. Valid orders placed on or before the as-of date.
-- - Lines count in their product's category; a refund is taken off the category of the
--   product it returns (a return names a product), in its ORDER's month, so a late return
--   restates the past month, as in fct_orders. Every refund of a valid order lands in exactly
--   one row, so the months add up to fct_orders' net revenue to the cent.
-- - region is the ordering customer's region (their latest version); a product missing from
--   the catalogue (or a return without a product) has category 'unknown', a customer without
--   a region 'unknown'.
-- Sparse: a row only where a line or a refund exists.
-- Summed up each night from int_sales_customer_months (incremental by month), with the
-- customers' regions of tonight: distinct customers and orders add up over customers.
select
    s.month,
    s.category,
    coalesce(c.region, 'unknown') as region,
    cast(sum(s.line_orders) as bigint) as orders,
    count(s.customer_id) filter (where s.line_orders > 0) as customers,
    cast(sum(s.units) as bigint) as units,
    cast(sum(s.gross_revenue) as decimal(18, 4)) as gross_revenue,
    cast(sum(s.refund_amount) as decimal(18, 4)) as refund_amount,
    cast(sum(s.gross_revenue) - sum(s.refund_amount) as decimal(18, 4)) as net_revenue
from {{ ref('int_sales_customer_months') }} as s
left join {{ ref('stg_shop__customers') }} as c on c.customer_id = s.customer_id
group by all
