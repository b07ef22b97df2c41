{#- Every landed copy, ranked among the copies of its key (1 = the kept copy), with the
    first landed copy's details beside it: what the dq models compare. Content is hashed
    only where a key has several copies (a single copy cannot conflict). -#}
{% macro stream_copies_ranked(relation, key, event_time, content_columns, version=none) -%}
    with ranked as (
        select
            *,
            row_number() over kept_first as copy_rank,
            row_number() over first_landed as landed_rank,
            count(*) over (partition by {{ key }}) as event_copies,
            first_value({{ event_time }}) over first_landed as first_event_time,
            first_value(_source_file) over first_landed as first_source_file,
            first_value(_batch_id) over first_landed as first_batch_id
        from {{ relation }}
        window
            kept_first as (partition by {{ key }} order by {{ onceonly.copy_order(version) }}),
            first_landed as (partition by {{ key }} order by {{ onceonly.copy_order() }})
    )
    select
        *,
        case
            when event_copies > 1 then {{ onceonly.content_hash(content_columns) }}
        end as content_hash
    from ranked
{%- endmacro %}
