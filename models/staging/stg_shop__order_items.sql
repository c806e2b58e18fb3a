{{ config(materialized='incremental', incremental_strategy='append') }}
-- Order lines, exact duplicates collapsed. line_amount = quantity x unit_price - discount
-- (the discount is an amount for the whole line). With var as_of set, only the lines of orders
-- sent by then (point in time: a line has no timestamp of its own, its order has).
-- Incremental: only the rows of the landing files not read yet (new_source_rows), less what
-- the table already holds (a row sent again collapses, as in a full build). With var as_of
-- set every line is read again: a line read before may belong to an order only now known
-- to have been sent by the as-of date (a version sent late).
{%- set lines = new_source_rows('shop', 'order_items')
    if is_incremental() and not var('as_of', none) else source('shop', 'order_items') %}
with landed as (
    select distinct
        order_id,
        line_number,
        product_id,
        batch_id,
        quantity,
        unit_price,
        discount,
        cast(quantity * unit_price - coalesce(discount, 0) as decimal(18, 4)) as line_amount
    from {{ lines }}
    where order_id is not null
    {%- if var('as_of', none) %}
        and order_id in (
            select order_id from {{ source('shop', 'orders') }}
            where {{ known_at_as_of('updated_at') }}
        )
    {%- endif %}
)

select * from landed
{%- if is_incremental() %}
except
select * from {{ this }}
where order_id in (select order_id from landed)
{%- endif %}
