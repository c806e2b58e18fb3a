{{ config(materialized='incremental', incremental_strategy='append') }}
-- Survey answers; NPS promoters score 9-10, detractors 0-6; CSAT satisfied is 4-5.
-- Answers and complaints submitted by the as-of date when var as_of is set.
select distinct
    feedback_id,
    customer_id,
    order_id,
    submitted_at,
    cast(submitted_at as date) as submitted_date,
    nps_score,
    csat_score,
    coalesce(is_complaint, false) as is_complaint,
    comment
from {{ source('shop', 'feedback') }}
where feedback_id is not null and {{ known_at_as_of('submitted_at') }}
{%- if is_incremental() %}
-- Incremental: the landing keeps every row it was sent, so what is new is what the table
-- does not hold yet (exact duplicates collapse, as in a full build).
except
select * from {{ this }}
{%- endif %}
