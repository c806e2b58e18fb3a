-- The as-of date of the whole warehouse: var as_of, or the day of the latest order
-- (any status). Every "to date" figure is computed as of this day, never now().
with as_of as (
    select {{ as_of_date_of_orders() }} as as_of_date
    from {{ ref('stg_shop__orders') }}
)

select
    as_of_date,
    cast(date_trunc('month', as_of_date) as date) as as_of_month
from as_of
