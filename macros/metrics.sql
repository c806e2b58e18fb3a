{#- The churn window W in days (docs/metrics.md): at least 30, or the monthly balance
    active_end = active_start - churned + new + reactivated cannot hold. -#}
{% macro churn_window_days() -%}
{%- set days = var('churn_window_days') -%}
{%- if days is not number or days < 30 -%}
{{ exceptions.raise_compiler_error("var churn_window_days must be a number of days >= 30, got " ~ days ~ " (a shorter window breaks the churn balance identity)") }}
{%- endif -%}
{{ days }}
{%- endmacro %}
