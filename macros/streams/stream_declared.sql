{#- True when `stream` has a declaration (streams/<stream>.yml). A user-owned mart on a
    stream's facts sets `enabled=onceonly.stream_declared('<stream>')`, so a project
    run with other declarations does not fail on the mart's missing ref. -#}
{% macro stream_declared(stream) -%}
    {{ return(stream in onceonly.declared_streams()) }}
{%- endmacro %}
