{% snapshot customers_snapshot %}
{{
    config(
        target_schema='snapshots',
        unique_key='id',
        strategy='timestamp',
        updated_at='updated_at',
        invalidate_hard_deletes=True,
    )
}}
select id, region, tier, updated_at from {{ ref('raw_customers') }}
{% endsnapshot %}

{% snapshot customer_tiers_snapshot %}
{{ config(unique_key='customer_id', strategy='check', check_cols=['region', 'tier']) }}
select customer_id, region, tier from {{ ref('stg_customers') }}
{% endsnapshot %}
