{#- Two runs of one model at once (two schedulers, a manual run beside a scheduled one)
    must not both MERGE the same batch: on PostgreSQL each model's transaction first takes
    an advisory lock named after the model, so the second run waits, then finds the batch
    already taken in. DuckDB allows one writing process per file; BigQuery serialises
    DML on a table itself. -#}
{% macro serialize_model_runs() -%}
    {{ return(adapter.dispatch('serialize_model_runs', 'onceonly')()) }}
{%- endmacro %}

{% macro default__serialize_model_runs() -%}
    select 1
{%- endmacro %}

{% macro postgres__serialize_model_runs() -%}
    select pg_advisory_xact_lock(hashtext('onceonly.model.' || '{{ this.identifier }}'))
{%- endmacro %}
