{#- Marketing channels arrive spelled in several ways ('Paid Search', ' email '): one spelling. -#}
{% macro normalize_channel(column) -%}
nullif(replace(replace(lower(trim({{ column }})), ' ', '_'), '-', '_'), '')
{%- endmacro %}

{#- The channels SOURCES.md lists; others are kept and flagged by an expectation. -#}
{% macro known_channels() -%}
('organic', 'paid_search', 'social', 'email', 'affiliate', 'referral', 'direct')
{%- endmacro %}
