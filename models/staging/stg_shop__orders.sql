{{ config(materialized='incremental', unique_key='order_id') }}
-- One row per order: the latest version by updated_at (sent by the as-of date when var as_of
-- is set: a later status change has not happened yet). A tie on updated_at keeps the
-- furthest status (returned > cancelled > delivered > shipped > placed), then the other
-- columns decide, so the order is total: two builds agree, and so do a full build and a
-- night that adds new versions to the stored latest ones.
-- Incremental: only the rows of the landing files not read yet (new_source_rows); an
-- order's latest version is the latest of its stored row and its new versions.
with versions as (
    select
        order_id,
        customer_id,
        ordered_at,
        cast(ordered_at as date) as order_date,
        channel,
        status,
        status <> 'cancelled' as is_valid,
        promised_at,
        delivered_at,
        updated_at
    from (
        select
            order_id,
            customer_id,
            ordered_at,
            {{ normalize_channel('channel') }} as channel,
            lower(trim(status)) as status,
            promised_at,
            delivered_at,
            updated_at
        from {{ new_source_rows('shop', 'orders') if is_incremental() else source('shop', 'orders') }}
        where order_id is not null and {{ known_at_as_of('updated_at') }}
    ) as landed
)
{%- if is_incremental() %},

-- the stored latest version of each order a version was sent for
stored as (
    select * from {{ this }}
    where order_id in (select order_id from versions)
),

candidates as (
    select * from versions
    union all
    select * from stored
)
{%- endif %}

-- the columns spelt out: on Spark, QUALIFY becomes a subquery whose * would keep its rank
select
    order_id,
    customer_id,
    ordered_at,
    order_date,
    channel,
    status,
    is_valid,
    promised_at,
    delivered_at,
    updated_at
from {{ 'candidates' if is_incremental() else 'versions' }}
qualify row_number() over (
    partition by order_id
    order by
        updated_at desc,
        case status
            when 'returned' then 5
            when 'cancelled' then 4
            when 'delivered' then 3
            when 'shipped' then 2
            when 'placed' then 1
            else 0
        end desc,
        delivered_at desc nulls last,
        promised_at desc nulls last,
        customer_id,
        ordered_at,
        channel,
        status
) = 1
{%- if is_incremental() %}
-- the orders whose latest version is another row than the stored one: only those are written
except
select * from stored
{%- endif %}
