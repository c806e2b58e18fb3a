{{ config(materialized='incremental', incremental_strategy='append') }}
-- Refunds (those made by the as-of date when var as_of is set).
-- Incremental: only the rows of the landing files not read yet (new_source_rows), less what
-- the table already holds (a row sent again collapses, as in a full build).
with landed as (
    select distinct
        return_id,
        order_id,
        product_id,
        returned_at,
        cast(returned_at as date) as return_date,
        refund_amount,
        reason
    from {{ new_source_rows('shop', 'returns') if is_incremental() else source('shop', 'returns') }}
    where return_id is not null and {{ known_at_as_of('returned_at') }}
)

select * from landed
{%- if is_incremental() %}
except
select * from {{ this }}
where return_id in (select return_id from landed)
{%- endif %}
