{#- effectively_once, first landed wins: insert the batch's rows whose key the facts do
    not hold within the dedup window (the incremental predicates, their bounds resolved
    from the batch). It does what a MERGE whose matched rows update the key to itself
    does, without touching the matched rows: an anti-join, then an append. -#}
{% macro get_incremental_insert_absent_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set key = arg_dict['unique_key'] -%}
    {%- set predicates = onceonly.resolve_batch_bounds(
        arg_dict.get('incremental_predicates'), source) -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ source }} as DBT_INTERNAL_SOURCE
    where not exists (
        select 1 from {{ target }} as DBT_INTERNAL_DEST
        where DBT_INTERNAL_DEST.{{ key }} = DBT_INTERNAL_SOURCE.{{ key }}
        {%- for predicate in predicates or [] %}
            and {{ predicate }}
        {%- endfor %}
    )
{%- endmacro %}

{#- The strategy of a first-landed effectively_once stream's facts: insert_absent, or on
    BigQuery its MERGE (dbt-bigquery's incremental materialization takes only its own
    strategies), whose matched rows update the key to itself. -#}
{% macro dedup_strategy() -%}
    {{ return(adapter.dispatch('dedup_strategy', 'onceonly')()) }}
{%- endmacro %}

{% macro default__dedup_strategy() -%}
    {{ return('insert_absent') }}
{%- endmacro %}

{% macro bigquery__dedup_strategy() -%}
    {{ return('merge') }}
{%- endmacro %}
