-- The customer dimension's history (SCD2): how each customer's region and loyalty tier
-- change from one build to the next. One row per version, valid from the as-of date of
-- the build that first saw it (not the wall clock: a rebuild on the same data adds
-- nothing), dbt_valid_to NULL for the current one.
{% snapshot customer_dimension_history %}
{{
    config(
        schema='history',
        unique_key='customer_id',
        strategy='check',
        check_cols=['region', 'loyalty_tier'],
        updated_at='as_of_date',
    )
}}
select customer_id, region, loyalty_tier, as_of_date
from {{ ref('customer_segments') }}
{% endsnapshot %}
