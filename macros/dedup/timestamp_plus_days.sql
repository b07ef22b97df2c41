{#- A timestamp expression plus a number of days, per engine. -#}
{% macro timestamp_plus_days(timestamp_expr, days) -%}
    {{ return(adapter.dispatch('timestamp_plus_days', 'onceonly')(timestamp_expr, days)) }}
{%- endmacro %}

{% macro default__timestamp_plus_days(timestamp_expr, days) -%}
    ({{ timestamp_expr }} + interval '{{ days | int }} days')
{%- endmacro %}

{% macro bigquery__timestamp_plus_days(timestamp_expr, days) -%}
    timestamp_add({{ timestamp_expr }}, interval {{ days | int }} day)
{%- endmacro %}
