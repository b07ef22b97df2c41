{#- Physical layout of the facts on BigQuery: daily partitions by a date column, clustered
    by the lookup key. Other engines have no such config (dbt-duckdb reads `partition_by`
    for another purpose), so they get none. -#}
{% macro date_partition(column) -%}
    {{ return({'field': column, 'data_type': 'date'} if target.type == 'bigquery' else none) }}
{%- endmacro %}

{% macro clustered_by(columns) -%}
    {{ return(columns if target.type == 'bigquery' else none) }}
{%- endmacro %}
