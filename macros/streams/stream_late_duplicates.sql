{#- Copies that arrived more than `window_days` after their event happened, when the key
    had already landed: the copies an incremental MERGE may let slip into the facts, which
    the full audit (`onceonly reconcile --full`) finds and removes. -#}
{% macro stream_late_duplicates(ranked, key, event_time, window_days) -%}
    select
        {{ key }},
        _source_file as source_file,
        _line_number as line_number,
        first_event_time as {{ event_time }},
        _arrived_at as arrived_at,
        first_source_file,
        _batch_id as batch_id,
        _loaded_at as loaded_at
    from {{ ranked }}
    where landed_rank > 1
        and _arrived_at > {{ onceonly.timestamp_plus_days('first_event_time', window_days) }}
{%- endmacro %}
