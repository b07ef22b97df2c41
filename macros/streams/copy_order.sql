{#- The deterministic order of a key's copies: the kept copy first. With a version role
    (`conflicts: highest_version`) the highest version wins, then the first landed; else
    the first landed wins (by _loaded_at, _source_file, _line_number). -#}
{% macro copy_order(version=none) -%}
    {%- if version %}{{ version }} desc nulls last, {% endif -%}
    _loaded_at, _source_file, _line_number
{%- endmacro %}
