{#- A hash of an event's typed contract fields: two copies with the same hash carry the
    same content (the same instant in another offset, or 12.3 vs "12.30", hash alike
    because the fields are compared after typing). Extra fields are not compared. -#}
{% macro content_hash(columns) -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- do parts.append("coalesce(cast(" ~ column ~ " as " ~ dbt.type_string() ~ "), '<null>')") -%}
    {%- endfor -%}
    {{ dbt.hash(parts | join(" || '|' || ")) }}
{%- endmacro %}
