select distinct
    session_id,
    customer_id,
    started_at,
    cast(started_at as date) as session_date,
    {{ normalize_channel('channel') }} as channel,
    order_id,
    order_id is not null as converted
from {{ source('shop', 'sessions') }}
where session_id is not null and {{ known_at_as_of('started_at') }}
