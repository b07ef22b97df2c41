{#- The type of amounts and their sums. -#}
{% macro money_type() -%}
    {{ return(adapter.dispatch('money_type', 'onceonly')()) }}
{%- endmacro %}

{% macro default__money_type() -%}
    decimal(18, 2)
{%- endmacro %}

{% macro bigquery__money_type() -%}
    numeric
{%- endmacro %}
