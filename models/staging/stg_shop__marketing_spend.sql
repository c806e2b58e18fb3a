-- Daily spend per channel; a channel spelled two ways on one day is summed.
select
    spend_date,
    {{ normalize_channel('channel') }} as channel,
    cast(sum(spend) as decimal(18, 4)) as spend
from {{ source('shop', 'marketing_spend') }}
where spend_date is not null and {{ known_at_as_of('spend_date') }}
group by all
