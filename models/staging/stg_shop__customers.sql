{{ config(materialized='incremental', unique_key='customer_id') }}
-- One row per customer: the latest version (updated_at) sent by the as-of date when var as_of
-- is set (point in time, see macros/point_in_time.sql); exact re-sends collapse.
-- Incremental: only the customers a version was sent for since the last build are picked
-- again (macros/incremental.sql).
{% if is_incremental() %}select * from ({% endif %}
select
    customer_id,
    created_at,
    region,
    country,
    {{ normalize_channel('acquisition_channel') }} as acquisition_channel,
    referred_by_customer_id,
    sales_rep_id,
    updated_at
from {{ source('shop', 'customers') }}
where customer_id is not null and {{ known_at_as_of('updated_at') }}
{%- if is_incremental() %}
    {%- set columns = [
        'created_at', 'region', 'country', 'acquisition_channel', 'referred_by_customer_id',
        'sales_rep_id', 'updated_at',
    ] %}
    and customer_id in {{ keys_with_new_versions(
        "(select customer_id, created_at, region, country, "
        ~ normalize_channel('acquisition_channel') ~ " as acquisition_channel, "
        ~ "referred_by_customer_id, sales_rep_id, updated_at from "
        ~ source('shop', 'customers') ~ ")",
        'customer_id', columns) }}
{%- endif %}
qualify row_number() over (
    partition by customer_id
    order by updated_at desc, region, country, acquisition_channel, created_at,
        referred_by_customer_id, sales_rep_id
) = 1
{%- if is_incremental() %}
) as latest
-- the keys whose latest version is another row than the stored one: only those are written
except
select * from {{ this }}
{%- endif %}
