{#- on-run-end: one row per model and test this invocation ran, in dq.node_runs (what a
    stream's guarantee cost in its last run, for the report), kept for 30 days. Under Cosmos each task is an
    invocation of its own, so each adds its node. Nothing is recorded for a parse, a
    compile or a run that selected nothing. -#}
{% macro record_node_runs(results) -%}
    {%- if not execute or not results or flags.WHICH not in ('run', 'build', 'test') -%}
        {{ return('') }}
    {%- endif -%}
    {%- set schema = generate_schema_name('dq', none) | trim -%}
    {%- do adapter.create_schema(api.Relation.create(database=target.database, schema=schema)) -%}
    {%- set relation = api.Relation.create(
        database=target.database, schema=schema, identifier='node_runs'
    ) -%}
    {%- set create_table -%}
        create table if not exists {{ relation }} (
            invocation_id {{ dbt.type_string() }},
            node_id {{ dbt.type_string() }},
            name {{ dbt.type_string() }},
            alias {{ dbt.type_string() }},
            resource_type {{ dbt.type_string() }},
            status {{ dbt.type_string() }},
            seconds {{ dbt.type_float() }},
            finished_at {{ dbt.type_timestamp() }}
        )
    {%- endset -%}
    {%- do run_query(create_table) -%}
    {%- set rows = [] -%}
    {%- for r in results if r.node.resource_type in ('model', 'test') -%}
        {#- every value is dbt's own (ids, names, statuses): no quote to escape -#}
        {%- set texts = [
            invocation_id, r.node.unique_id, r.node.name, r.node.alias or r.node.name,
            r.node.resource_type, r.status | string,
        ] -%}
        {%- set quoted = [] -%}
        {%- for t in texts -%}
            {%- do quoted.append("'" ~ t ~ "'") -%}
        {%- endfor -%}
        {%- do rows.append(
            "(" ~ quoted | join(", ") ~ ", " ~ (r.execution_time or 0)
            ~ ", " ~ dbt.current_timestamp() ~ ")"
        ) -%}
    {%- endfor -%}
    {%- if rows -%}
        {%- do run_query("insert into " ~ relation ~ " values " ~ rows | join(", ")) -%}
        {#- a MERGE, not a DELETE: one statement every target runs (the BigQuery
            emulator too) -#}
        {%- do run_query(
            "merge into " ~ relation ~ " as t using (select invocation_id, node_id from "
            ~ relation ~ " where finished_at < "
            ~ dbt.dateadd('day', -30, dbt.current_timestamp())
            ~ ") as s on t.invocation_id = s.invocation_id and t.node_id = s.node_id"
            ~ " when matched then delete"
        ) -%}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}
