{{
    config(
        unique_key='event_id',
        incremental_strategy='merge',
        merge_update_columns=['event_id'],
        incremental_predicates=[onceonly.dedup_window_predicate()],
        partition_by=onceonly.date_partition('event_date'),
        cluster_by=onceonly.clustered_by(['event_id']),
    )
}}

-- One row per event_id, the first landed copy. A matched row is left as it is (the update
-- sets event_id to itself): the copy already in the facts landed first.

with

batch as (

    {{ onceonly.new_copies(ref('stg_orders__events')) }}

),

first_copies as (

    {{ onceonly.first_copies('batch', 'event_id') }}

),

final as (

    select
        event_id,
        event_type,
        occurred_at,
        event_date,
        producer_id,
        producer_epoch,
        sequence_number,
        order_id,
        customer_id,
        product_id,
        quantity,
        amount,
        currency,
        _extra,
        _batch_id,
        _source_file,
        _line_number,
        _arrived_at,
        _loaded_at

    from first_copies

)

select * from final
