{#- Whole calendar months from month a to month b, written so Spark gives the same answer:
    DuckDB's date_diff('month', ...) counts month boundaries crossed, and transpiled to Spark
    it counts whole months elapsed instead. -#}
{% macro months_between(a, b) -%}
(12 * (year({{ b }}) - year({{ a }})) + month({{ b }}) - month({{ a }}))
{%- endmacro %}

{#- A rate whose denominator is 0 is NULL, not 0 and not an error. A rate is a DOUBLE: for
    money (an amount per order, per customer) use money_divide. -#}
{% macro safe_divide(numerator, denominator) -%}
({{ numerator }}) / nullif({{ denominator }}, 0)
{%- endmacro %}

{#- Money divided by a count, kept DECIMAL(18, scale): DuckDB divides DECIMALs in DOUBLE
    (810.555 / 4 = 202.63875 came out 202.6387), so this divides in integers instead. The
    numerator, in units of 10^-(scale + 1), is divided by the denominator truncating toward
    zero; the one extra digit is then rounded half away from zero by the cast to `scale`
    digits. That is exact: a half-way value at `scale` digits is a whole number of those
    units, so truncating below it never moves the result across it. NULL when the
    denominator is 0 or NULL. Amounts up to 9 * 10^(18 - scale - 1) fit (BIGINT units). -#}
{% macro money_divide(numerator, denominator, scale=4) -%}
{%- set units = 10 ** (scale + 1) -%}
cast(
    cast(
        sign(cast({{ numerator }} as decimal(38, {{ scale + 1 }})))
        * sign(nullif({{ denominator }}, 0))
        * (
            abs(cast(cast({{ numerator }} as decimal(38, {{ scale + 1 }})) * {{ units }} as bigint))
            // abs(cast(nullif({{ denominator }}, 0) as bigint))
        )
        as decimal(38, 0)
    ) * {{ '0.' ~ '0' * scale ~ '1' }}
    as decimal(18, {{ scale }})
)
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
