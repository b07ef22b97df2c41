{#- dbt looks up the macro of the `merge` strategy by this name, and a project's macro
    comes first: it resolves the dedup window placeholder in the incremental predicates
    to a date literal from the batch, then hands over to the adapter's own merge. -#}
{% macro get_incremental_merge_sql(arg_dict) -%}
    {%- set placeholder = onceonly.dedup_window_placeholder() -%}
    {%- set predicates = [] -%}
    {%- for predicate in arg_dict.get('incremental_predicates') or [] -%}
        {%- if placeholder in predicate -%}
            {%- set window_start = onceonly.dedup_window_start(arg_dict['temp_relation']) -%}
            {%- do predicates.append(predicate | replace(placeholder, window_start)) -%}
        {%- else -%}
            {%- do predicates.append(predicate) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- do arg_dict.update({'incremental_predicates': predicates or none}) -%}
    {{ return(adapter.dispatch('get_incremental_merge_sql', 'dbt')(arg_dict)) }}
{%- endmacro %}
