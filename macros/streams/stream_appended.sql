{#- The body of an at_least_once stream's facts: every valid copy landed since the facts'
    watermark, appended as it is. Duplicates are kept (and counted by the dq models). -#}
{% macro stream_appended(relation, columns) -%}
    with batch as (
        {{ onceonly.new_copies(relation) }}
    )
    select {{ onceonly.fact_columns(columns, 'batch') }}
    from batch
{%- endmacro %}

{#- The incremental strategy that appends: `append` where the adapter has it, a MERGE
    without a key (which inserts every row) on BigQuery. -#}
{% macro append_strategy() -%}
    {{ return(adapter.dispatch('append_strategy', 'onceonly')()) }}
{%- endmacro %}

{% macro default__append_strategy() -%}
    {{ return('append') }}
{%- endmacro %}

{% macro bigquery__append_strategy() -%}
    {{ return('merge') }}
{%- endmacro %}
