{{ config(materialized='incremental', unique_key='customer_id') }}
-- One row per customer: the latest version (updated_at) sent by the as-of date when var as_of
-- is set (point in time, see macros/point_in_time.sql); exact re-sends collapse. Ties are
-- broken by every other column, so the order is total (a full build and a night that adds
-- new versions to the stored latest ones agree).
-- Incremental: only the rows of the landing files not read yet (new_source_rows); a
-- customer's latest version is the latest of their stored row and their new versions.
with versions as (
    select
        customer_id,
        created_at,
        region,
        country,
        {{ normalize_channel('acquisition_channel') }} as acquisition_channel,
        referred_by_customer_id,
        sales_rep_id,
        updated_at
    from {{ new_source_rows('shop', 'customers') if is_incremental() else source('shop', 'customers') }}
    where customer_id is not null and {{ known_at_as_of('updated_at') }}
)
{%- if is_incremental() %},

-- the stored latest version of each customer a version was sent for
stored as (
    select * from {{ this }}
    where customer_id in (select customer_id from versions)
),

candidates as (
    select * from versions
    union all
    select * from stored
)
{%- endif %}

-- the columns spelt out: on Spark, QUALIFY becomes a subquery whose * would keep its rank
select
    customer_id,
    created_at,
    region,
    country,
    acquisition_channel,
    referred_by_customer_id,
    sales_rep_id,
    updated_at
from {{ 'candidates' if is_incremental() else 'versions' }}
qualify row_number() over (
    partition by customer_id
    order by updated_at desc, region, country, acquisition_channel, created_at,
        referred_by_customer_id, sales_rep_id
) = 1
{%- if is_incremental() %}
-- the customers whose latest version is another row than the stored one: only those
except
select * from stored
{%- endif %}
