{#- Keys delivered with differing content (a producer bug): reported, and the kept copy
    is the one in the facts. With a version role, copies of different versions are
    updates, not conflicts: only copies of one version with differing content are. -#}
{% macro stream_event_conflicts(ranked, key, version=none) -%}
    with copies as (
        select * from {{ ranked }}
        where event_copies > 1  -- a single copy cannot conflict
    ),
    {%- if version %}
    per_version as (
        select {{ key }}, {{ version }}, count(distinct content_hash) as versions
        from copies
        group by {{ key }}, {{ version }}
    ),
    conflicting as (
        select distinct {{ key }} from per_version where versions > 1
    ),
    {%- else %}
    conflicting as (
        select {{ key }} from copies group by {{ key }} having count(distinct content_hash) > 1
    ),
    {%- endif %}
    per_event as (
        select
            copies.{{ key }},
            count(*) as copies,
            count(distinct copies.content_hash) as versions,
            min(copies.first_source_file) as first_source_file,
            min(copies._loaded_at) as first_loaded_at
        from copies
        inner join conflicting on copies.{{ key }} = conflicting.{{ key }}
        group by copies.{{ key }}
    )
    select * from per_event
{%- endmacro %}
