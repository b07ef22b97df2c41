-- Copies that arrived more than dedup_window_days after their event occurred, when the
-- event had already landed: the copies an incremental MERGE may let slip into the facts,
-- which the full audit (`onceonly reconcile --full`) finds and removes.

with

copies as (

    select * from {{ ref('int_order_event_copies_ranked') }}

),

final as (

    select
        event_id,
        _source_file as source_file,
        _line_number as line_number,
        first_occurred_at as occurred_at,
        _arrived_at as arrived_at,
        first_source_file,
        _batch_id as batch_id,
        _loaded_at as loaded_at

    from copies
    where copy_rank > 1
        and _arrived_at > {{ onceonly.timestamp_plus_days('first_occurred_at', var('dedup_window_days')) }}

)

select * from final
