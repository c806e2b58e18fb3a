-- One row per customer: the latest version (updated_at); exact re-sends collapse.
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
where customer_id is not null
qualify row_number() over (
    partition by customer_id
    order by updated_at desc, region, country, acquisition_channel, created_at,
        referred_by_customer_id, sales_rep_id
) = 1
