{#- Whole calendar months from month a to month b, written so Spark gives the same answer
    (date_diff('month', ...) counts differently there, see shared/SPARK.md). -#}
{% macro months_between(a, b) -%}
(12 * (year({{ b }}) - year({{ a }})) + month({{ b }}) - month({{ a }}))
{%- endmacro %}

{#- A rate whose denominator is 0 is NULL, not 0 and not an error. -#}
{% macro safe_divide(numerator, denominator) -%}
({{ numerator }}) / nullif({{ denominator }}, 0)
{%- endmacro %}

{#- One row per calendar month (a DATE, the 1st) from the month of `first_month` to the month
    of `last_month`, both columns of `relation` (a CTE with one row). Month arithmetic is done
    on a month index, so it means the same on Spark (no date ranges with intervals). -#}
{% macro month_spine(relation, first_month, last_month) -%}
select make_date(cast(month_index // 12 as integer), cast(month_index % 12 + 1 as integer), 1)
    as month
from (
    select unnest(generate_series(
        12 * year({{ first_month }}) + month({{ first_month }}) - 1,
        12 * year({{ last_month }}) + month({{ last_month }}) - 1
    )) as month_index
    from {{ relation }}
) as month_indexes
{%- endmacro %}
