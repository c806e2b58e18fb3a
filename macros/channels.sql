{#- Marketing channels arrive spelled in several ways ('Paid Search', 'paid-search',
    ' email '): one spelling, lower case with underscores. -#}
{% macro normalize_channel(column) -%}
nullif(regexp_replace(lower(trim({{ column }})), '[\s-]+', '_', 'g'), '')
{%- endmacro %}

{#- The channels docs/sources.md lists; others are kept and flagged by an expectation. -#}
{% macro known_channels() -%}
('organic', 'paid_search', 'social', 'email', 'affiliate', 'referral', 'direct')
{%- endmacro %}
