-- One row per customer: the latest version (updated_at) sent by the as-of date when var as_of
-- is set (point in time, see macros/point_in_time.sql); exact re-sends collapse.
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
qualify row_number() over (
    partition by customer_id
    order by updated_at desc, region, country, acquisition_channel, created_at,
        referred_by_customer_id, sales_rep_id
) = 1
