{#- Whole calendar months from month a to month b, written so Spark gives the same answer
    (date_diff('month', ...) counts differently there, see shared/SPARK.md). -#}
{% macro months_between(a, b) -%}
(12 * (year({{ b }}) - year({{ a }})) + month({{ b }}) - month({{ a }}))
{%- endmacro %}

{#- A rate whose denominator is 0 is NULL, not 0 and not an error. -#}
{% macro safe_divide(numerator, denominator) -%}
({{ numerator }}) / nullif({{ denominator }}, 0)
{%- endmacro %}
