{#- A project's macro comes before dbt's: these two resolve the batch bounds in the
    incremental predicates (see batch_bounds.sql), then hand over to the adapter's own
    MERGE. dbt's `merge` strategy enters by get_incremental_merge_sql (dbt-duckdb does
    not go on to get_merge_sql); dbt-bigquery's incremental materialization calls
    get_merge_sql directly. A predicate resolved once has no token left. -#}
{% macro get_incremental_merge_sql(arg_dict) -%}
    {%- do arg_dict.update({'incremental_predicates': onceonly.resolve_batch_bounds(
        arg_dict.get('incremental_predicates'), arg_dict['temp_relation']) or none}) -%}
    {{ return(adapter.dispatch('get_incremental_merge_sql', 'dbt')(arg_dict)) }}
{%- endmacro %}

{% macro get_merge_sql(target, source, unique_key, dest_columns, incremental_predicates=none) -%}
    {%- set predicates = onceonly.resolve_batch_bounds(incremental_predicates, source) -%}
    {{ return(adapter.dispatch('get_merge_sql', 'dbt')(target, source, unique_key, dest_columns, predicates)) }}
{%- endmacro %}
