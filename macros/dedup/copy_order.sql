{#- The deterministic tie-break between copies of one event: the first landed wins. -#}
{% macro copy_order() -%}
    _loaded_at, _source_file, _line_number
{%- endmacro %}
