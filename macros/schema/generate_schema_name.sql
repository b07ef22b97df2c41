{#- Models land in the schema named by their folder (raw, staging, analytics, dq), with an
    optional prefix from ONCEONLY_SCHEMA_PREFIX (BigQuery datasets), not in dbt's
    <target>_<custom> default. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- set prefix = env_var('ONCEONLY_SCHEMA_PREFIX', '') -%}
    {%- if custom_schema_name is none -%}
        {{ prefix ~ target.schema }}
    {%- else -%}
        {{ prefix ~ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
