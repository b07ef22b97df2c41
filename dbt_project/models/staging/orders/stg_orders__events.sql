with

source as (

    select * from {{ source('raw', 'orders_events') }}

),

final as (

    select
        event_id,
        event_type,
        occurred_at,
        cast(occurred_at as date) as event_date,
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

    from source

)

select * from final
