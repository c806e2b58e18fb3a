{{ config(materialized='incremental', incremental_strategy='append') }}
-- Survey answers; NPS promoters score 9-10, detractors 0-6; CSAT satisfied is 4-5.
-- Answers and complaints submitted by the as-of date when var as_of is set.
-- Incremental: only the rows of the landing files not read yet (new_source_rows), less what
-- the table already holds (a row sent again collapses, as in a full build).
with landed as (
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
    from {{ new_source_rows('shop', 'feedback') if is_incremental() else source('shop', 'feedback') }}
    where feedback_id is not null and {{ known_at_as_of('submitted_at') }}
)

select * from landed
{%- if is_incremental() %}
except
select * from {{ this }}
where feedback_id in (select feedback_id from landed)
{%- endif %}
