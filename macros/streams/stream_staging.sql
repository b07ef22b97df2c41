{#- A stream's staging view: one row per delivered copy, its declared fields typed as
    landed, the UTC date of its event time (`_event_date`, the facts' partition), the
    undeclared fields and the load metadata. -#}
{% macro stream_staging(relation, columns, event_time) -%}
    select
        {%- for column in columns %}
        {{ column }},
        {%- endfor %}
        cast({{ event_time }} as date) as _event_date,
        _extra,
        _batch_id,
        _source_file,
        _line_number,
        _arrived_at,
        _loaded_at
    from {{ relation }}
{%- endmacro %}
