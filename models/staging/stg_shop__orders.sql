{{ config(materialized='incremental', unique_key='order_id') }}
-- One row per order: the latest version by updated_at (sent by the as-of date when var as_of
-- is set: a later status change has not happened yet). A tie on updated_at keeps the
-- furthest status (returned > cancelled > delivered > shipped > placed), so two builds agree.
-- Incremental: only the orders a version was sent for since the last build are picked again
-- (macros/incremental.sql).
with versions as (
    select
        order_id,
        customer_id,
        ordered_at,
        {{ normalize_channel('channel') }} as channel,
        lower(trim(status)) as status,
        promised_at,
        delivered_at,
        updated_at
    from {{ source('shop', 'orders') }}
    where order_id is not null and {{ known_at_as_of('updated_at') }}
)

{% if is_incremental() %}select * from ({% endif %}
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
from versions
{%- if is_incremental() %}
where order_id in {{ keys_with_new_versions('versions', 'order_id', [
    'customer_id', 'ordered_at', 'channel', 'status', 'promised_at', 'delivered_at', 'updated_at',
]) }}
{%- endif %}
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
        channel
) = 1
{%- if is_incremental() %}
) as latest
-- the keys whose latest version is another row than the stored one: only those are written
except
select * from {{ this }}
{%- endif %}
