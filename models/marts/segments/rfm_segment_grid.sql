-- The RFM segment of every (R, FM) score pair (docs/metrics.md "Segmentation"): 25 rows, the
-- one place the grid is written down (customer_segments joins it, BI can label heatmaps
-- with it). R = recency score, FM = (F + M) / 2 rounded half up, both 1-5, 5 the best.
-- The grid is the widely used R x FM mapping (rows R 5..1, columns FM 1..5), with its
-- low-value corner split into lost (R = 1) and hibernating (R = 2):
--            FM 1            FM 2                FM 3                FM 4         FM 5
--   R 5      new             potential_loyalist  potential_loyalist  champions    champions
--   R 4      promising       potential_loyalist  potential_loyalist  loyal        loyal
--   R 3      about_to_sleep  about_to_sleep      needs_attention     loyal        loyal
--   R 2      hibernating     hibernating         at_risk             at_risk      cannot_lose
--   R 1      lost            lost                at_risk             at_risk      cannot_lose
{%- set grid = {
    5: ['new', 'potential_loyalist', 'potential_loyalist', 'champions', 'champions'],
    4: ['promising', 'potential_loyalist', 'potential_loyalist', 'loyal', 'loyal'],
    3: ['about_to_sleep', 'about_to_sleep', 'needs_attention', 'loyal', 'loyal'],
    2: ['hibernating', 'hibernating', 'at_risk', 'at_risk', 'cannot_lose'],
    1: ['lost', 'lost', 'at_risk', 'at_risk', 'cannot_lose'],
} %}
{#- the order segments are listed in (segment_summary sorts by it): best first -#}
{%- set order = [
    'champions', 'loyal', 'potential_loyalist', 'new', 'promising', 'needs_attention',
    'about_to_sleep', 'at_risk', 'cannot_lose', 'hibernating', 'lost',
] %}
select
    cast(r_score as integer) as r_score,
    cast(fm_score as integer) as fm_score,
    cast(rfm_segment as varchar) as rfm_segment,
    cast(segment_order as integer) as segment_order
from (
    values
    {%- for r in [5, 4, 3, 2, 1] %}
    {%- set outer = loop %}
    {%- for segment in grid[r] %}
        ({{ r }}, {{ loop.index }}, '{{ segment }}', {{ order.index(segment) + 1 }})
        {{- "," if not (outer.last and loop.last) }}
    {%- endfor %}
    {%- endfor %}
) as grid (r_score, fm_score, rfm_segment, segment_order)
