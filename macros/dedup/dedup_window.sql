{#- The dedup window bounds the MERGE's scan of the target: only target rows whose
    event_date is at most `dedup_window_days` before the batch's newest arrival are
    compared, so a run costs what its batch costs, not what history costs. Duplicates of
    older events slip past and are caught by the full audit (`onceonly reconcile --full`).

    The bound depends on the batch, which exists only when the model runs: the model's
    incremental predicate holds the placeholder below, and get_incremental_merge_sql
    replaces it with a date literal computed from the batch (so every engine, BigQuery
    included, can prune the target by it). -#}

{% macro dedup_window_predicate(target_alias='DBT_INTERNAL_DEST') -%}
    {{ return(target_alias ~ '.event_date >= ' ~ onceonly.dedup_window_placeholder()) }}
{%- endmacro %}

{% macro dedup_window_placeholder() -%}
    {{ return('__onceonly_dedup_window_start__') }}
{%- endmacro %}

{% macro dedup_window_start(batch_relation) -%}
    {%- set newest -%}
        select cast(max(cast(_arrived_at as date)) as {{ dbt.type_string() }}) from {{ batch_relation }}
    {%- endset -%}
    {%- set newest_arrival = run_query(newest).columns[0].values()[0] if execute else none -%}
    {%- if newest_arrival is none -%}
        {{ return("cast('9999-12-31' as date)") }}
    {%- endif -%}
    {{ return(onceonly.days_before("cast('" ~ newest_arrival ~ "' as date)", var('dedup_window_days'))) }}
{%- endmacro %}
