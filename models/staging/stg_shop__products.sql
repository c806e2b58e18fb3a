select distinct
    product_id,
    product_name,
    category,
    unit_cost
from {{ source('shop', 'products') }}
where product_id is not null
