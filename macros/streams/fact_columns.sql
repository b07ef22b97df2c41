{#- The columns of a stream's facts, read from `alias`: the declared fields, then the
    event date, the undeclared fields and the load metadata. -#}
{% macro fact_columns(columns, alias) -%}
    {%- for column in columns %}
        {{ alias }}.{{ column }},
    {%- endfor %}
        {{ alias }}._event_date,
        {{ alias }}._extra,
        {{ alias }}._batch_id,
        {{ alias }}._source_file,
        {{ alias }}._line_number,
        {{ alias }}._arrived_at,
        {{ alias }}._loaded_at
{%- endmacro %}
