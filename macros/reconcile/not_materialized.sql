{#- The keyword that makes a CTE read again at each use instead of held whole: DuckDB and
    PostgreSQL hold a CTE used more than once, which for a plain scan of a large table
    costs more than the scans (fct_orders' first build at 10M events: 6.0 s held, 3.4 s
    read again). BigQuery has no such keyword: it reads a CTE again at each use. -#}
{% macro not_materialized() -%}
    {{ return(adapter.dispatch('not_materialized', 'onceonly')()) }}
{%- endmacro %}

{% macro default__not_materialized() -%}
    not materialized
{%- endmacro %}

{% macro bigquery__not_materialized() -%}
{%- endmacro %}
