{#- A timestamp older than any load: the watermark of an empty table. -#}
{% macro timestamp_floor() -%}
    {{ return(adapter.dispatch('timestamp_floor', 'onceonly')()) }}
{%- endmacro %}

{% macro default__timestamp_floor() -%}
    cast('1900-01-01 00:00:00' as timestamp)
{%- endmacro %}
