{#- The simple CLV formula (docs/metrics.md "Customer lifetime value"), shared by the marts
    that compute it per group (clv_by_channel, clv_by_segment): one definition, so the two
    can never drift apart. -#}

{#- var purchase_rate_min_tenure_days, checked: a customer observed for less than this many
    days counts for this many days in purchases_per_year. -#}
{% macro purchase_rate_min_tenure_days() -%}
{%- set days = var('purchase_rate_min_tenure_days', 365) -%}
{%- if days is not number or days < 1 -%}
{{ exceptions.raise_compiler_error("var purchase_rate_min_tenure_days must be a number of days >= 1, got " ~ days) }}
{%- endif -%}
{{ days }}
{%- endmacro %}

{#- annual_churn_rate = 1 - (1 - monthly)^12 -#}
{% macro annual_churn_rate(monthly_churn_rate) -%}
1 - power(1 - {{ monthly_churn_rate }}, 12)
{%- endmacro %}

{#- expected_lifetime_years = 1 / annual_churn_rate (NULL when that is 0 or unknown) -#}
{% macro expected_lifetime_years(monthly_churn_rate) -%}
{{ safe_divide('1', annual_churn_rate(monthly_churn_rate)) }}
{%- endmacro %}

{#- simple_clv = aov x purchases_per_year x expected_lifetime_years x var('gross_margin') -#}
{% macro simple_clv(aov, purchases_per_year, expected_lifetime_years) -%}
cast(
        {{ aov }} * {{ purchases_per_year }} * {{ expected_lifetime_years }} * {{ var('gross_margin') }}
        as decimal(18, 4)
    )
{%- endmacro %}
