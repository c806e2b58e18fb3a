{{ config(materialized='incremental', incremental_strategy='append') }}
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
{%- if is_incremental() %}
-- Incremental: the landing keeps every row it was sent, so what is new is what the table
-- does not hold yet (exact duplicates collapse, as in a full build).
except
select * from {{ this }}
{%- endif %}
