-- Quality per product (docs/metrics.md "Products"): return rate and complaint rate, so a product
-- that comes back more than the rest stands out (batch_quality splits it by production batch).
-- From int_product_lines (summed up per month in int_product_batch_months): lines of valid
-- orders placed on or before the as-of date, each return matched to one line of its product
-- in its order (see there).
-- - return_rate = returned lines / lines (a line is returned when a return was matched to it).
-- - complaint_rate = orders with a complaint / valid orders containing the product (the
--   complaint is about the order, whichever of its products it concerns).
-- - return_rate_lower_95, complaint_rate_lower_95: the lower ends of the rates' 95% Wilson
--   score intervals (rank by them so that a product sold a handful of times does not top
--   the list by chance).
-- Every product sold has a row; lines without a product are left out.
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
with product_months as (
    select
        product_id,
        month,
        min(product_name) as product_name,
        min(category) as category,
        sum(lines) as lines,
        sum(units_sold) as units_sold,
        any_value(product_valid_orders) as valid_orders,
        sum(returned_lines) as returned_lines,
        sum(returned_units) as returned_units,
        sum(refund_amount) as refund_amount,
        any_value(product_complaint_orders) as complaint_orders,
        sum(gross_revenue) as gross_revenue
    from {{ ref('int_product_batch_months') }}
    group by product_id, month
),

-- batch ids named on the product's lines (lines without one are no batch here)
product_batches as (
    select product_id, count(distinct batch_id) as batches
    from {{ ref('int_product_batch_months') }}
    where has_batch_id
    group by product_id
),

stats as (
    select
        m.product_id,
        min(m.product_name) as product_name,
        min(m.category) as category,
        cast(sum(m.lines) as bigint) as lines,
        cast(sum(m.units_sold) as bigint) as units_sold,
        cast(sum(m.valid_orders) as bigint) as valid_orders,
        coalesce(any_value(b.batches), 0) as batches,
        cast(sum(m.returned_lines) as bigint) as returned_lines,
        cast(sum(m.returned_units) as bigint) as returned_units,
        cast(sum(m.refund_amount) as decimal(18, 4)) as refund_amount,
        cast(sum(m.complaint_orders) as bigint) as complaint_orders,
        cast(sum(m.gross_revenue) as decimal(18, 4)) as gross_revenue
    from product_months as m
    left join product_batches as b on b.product_id = m.product_id
    group by m.product_id
)

select
    product_id,
    product_name,
    category,
    batches,
    lines,
    units_sold,
    valid_orders,
    gross_revenue,
    returned_lines,
    returned_units,
    refund_amount,
    cast({{ safe_divide('returned_lines', 'lines') }} as double) as return_rate,
    cast({{ wilson_lower('returned_lines', 'lines') }} as double)
        as return_rate_lower_95,
    complaint_orders,
    cast({{ safe_divide('complaint_orders', 'valid_orders') }} as double) as complaint_rate,
    cast({{ wilson_lower('complaint_orders', 'valid_orders') }} as double)
        as complaint_rate_lower_95
from stats
