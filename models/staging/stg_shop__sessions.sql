{{ config(materialized='incremental', incremental_strategy='append') }}
-- Web sessions (those started by the as-of date when var as_of is set).
-- Incremental: only the rows of the landing files not read yet (new_source_rows), less what
-- the table already holds (a row sent again collapses, as in a full build).
with landed as (
    select distinct
        session_id,
        customer_id,
        started_at,
        cast(started_at as date) as session_date,
        {{ normalize_channel('channel') }} as channel,
        order_id,
        order_id is not null as converted
    from {{ new_source_rows('shop', 'sessions') if is_incremental() else source('shop', 'sessions') }}
    where session_id is not null and {{ known_at_as_of('started_at') }}
)

select * from landed
{%- if is_incremental() %}
except
select * from {{ this }}
where session_id in (select session_id from landed)
{%- endif %}
