-- Quality per production batch (docs/metrics.md "Products"): return rate and complaint rate per
-- product x batch, so a bad batch stands out against the product's other batches.
-- From int_product_lines (summed up per month in int_product_batch_months): lines of valid
-- orders placed on or before the as-of date, each return matched to one line (and so one
-- batch) of its product in its order (see there).
-- - return_rate = returned lines of the batch / lines of the batch.
-- - complaint_rate = orders with a complaint / valid orders with a line of the batch.
-- - product_return_rate, product_complaint_rate: the same rates over all of the product's
--   lines; return_rate_ratio = return_rate / the return rate of the product's OTHER batches
--   (their lines pooled; NULL when they have no lines or no returns): 1 is ordinary, 3 is
--   three times the rest.
-- - return_rate_lower_95, complaint_rate_lower_95: the lower ends of the rates' 95% Wilson
--   score intervals. A batch of 2 lines with 1 return has a return rate of 0.5 but a lower
--   bound under 0.1: rank by the bound to find the batches that are surely bad.
-- Lines without a batch id form the batch 'unknown' of their product, so a product's batches
-- add up to its row in product_quality. Lines without a product are left out.
{#- Lower end of the 95% Wilson score interval of k successes in n trials: a rate on a handful
    of lines is noise, and this bound ranks a batch by how sure we are that its rate is high. -#}
{%- macro wilson_lower(k, n) -%}
case when ({{ k }}) = 0 and ({{ n }}) > 0 then 0.0 when ({{ n }}) > 0 then greatest(0.0, (
    ({{ k }}) / ({{ n }}) + 1.96 * 1.96 / (2 * ({{ n }}))
    - 1.96 * sqrt(
        ({{ k }}) / ({{ n }}) * (1 - ({{ k }}) / ({{ n }})) / ({{ n }})
        + 1.96 * 1.96 / (4 * ({{ n }}) * ({{ n }}))
    )
) / (1 + 1.96 * 1.96 / ({{ n }}))) end
{%- endmacro %}
with batches as (
    select
        product_id,
        batch_id,
        min(product_name) as product_name,
        min(category) as category,
        min(first_order_date) as first_order_date,
        max(last_order_date) as last_order_date,
        cast(sum(lines) as bigint) as lines,
        cast(sum(units_sold) as bigint) as units_sold,
        cast(sum(valid_orders) as bigint) as valid_orders,
        cast(sum(returned_lines) as bigint) as returned_lines,
        cast(sum(returned_units) as bigint) as returned_units,
        cast(sum(refund_amount) as decimal(18, 4)) as refund_amount,
        cast(sum(complaint_orders) as bigint) as complaint_orders
    from {{ ref('int_product_batch_months') }}
    group by product_id, batch_id
),

-- a product's distinct orders summed over months (its batches would count an order with
-- lines of two batches twice)
product_months as (
    select
        product_id,
        month,
        sum(lines) as lines,
        sum(returned_lines) as returned_lines,
        any_value(product_valid_orders) as valid_orders,
        any_value(product_complaint_orders) as complaint_orders
    from {{ ref('int_product_batch_months') }}
    group by product_id, month
),

products as (
    select
        product_id,
        cast(sum(lines) as bigint) as lines,
        cast(sum(returned_lines) as bigint) as returned_lines,
        cast(sum(valid_orders) as bigint) as valid_orders,
        cast(sum(complaint_orders) as bigint) as complaint_orders
    from product_months
    group by product_id
)

select
    b.product_id,
    b.batch_id,
    b.product_name,
    b.category,
    b.first_order_date,
    b.last_order_date,
    b.lines,
    b.units_sold,
    b.valid_orders,
    b.returned_lines,
    b.returned_units,
    b.refund_amount,
    cast({{ safe_divide('b.returned_lines', 'b.lines') }} as double) as return_rate,
    cast({{ wilson_lower('b.returned_lines', 'b.lines') }} as double)
        as return_rate_lower_95,
    b.complaint_orders,
    cast({{ safe_divide('b.complaint_orders', 'b.valid_orders') }} as double) as complaint_rate,
    cast({{ wilson_lower('b.complaint_orders', 'b.valid_orders') }} as double)
        as complaint_rate_lower_95,
    cast({{ safe_divide('p.returned_lines', 'p.lines') }} as double) as product_return_rate,
    cast({{ safe_divide('p.complaint_orders', 'p.valid_orders') }} as double)
        as product_complaint_rate,
    cast(
        {{ safe_divide('b.returned_lines / b.lines',
            '(p.returned_lines - b.returned_lines) / nullif(p.lines - b.lines, 0)') }}
        as double
    ) as return_rate_ratio
from batches as b
inner join products as p on p.product_id = b.product_id
