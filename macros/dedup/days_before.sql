{#- The date `days` days before a date expression. -#}
{% macro days_before(date_expr, days) -%}
    {{ return(adapter.dispatch('days_before', 'onceonly')(date_expr, days)) }}
{%- endmacro %}

{% macro default__days_before(date_expr, days) -%}
    cast(({{ date_expr }}) - {{ days | int }} as date)
{%- endmacro %}

{% macro bigquery__days_before(date_expr, days) -%}
    date_sub({{ date_expr }}, interval {{ days | int }} day)
{%- endmacro %}
