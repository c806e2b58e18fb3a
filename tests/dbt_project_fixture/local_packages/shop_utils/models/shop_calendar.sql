{{ dbt.date_spine('month', "date '2024-01-01'", "date '2024-04-01'") }}
