{{ config(materialized='table') }}

-- Every landed copy, ranked among the copies of its event_id (1 = the first landed), with
-- the first copy's details beside it: what the dq models compare. A table, built once per
-- run and read by three dq models. Content is hashed only where an event has several
-- copies (a single copy cannot conflict).

with

copies as (

    select * from {{ ref('stg_orders__events') }}

),

ranked as (

    select
        *,
        row_number() over first_landed as copy_rank,
        count(*) over (partition by event_id) as event_copies,
        first_value(occurred_at) over first_landed as first_occurred_at,
        first_value(_source_file) over first_landed as first_source_file,
        first_value(_batch_id) over first_landed as first_batch_id

    from copies
    window first_landed as (partition by event_id order by {{ onceonly.copy_order() }})

),

final as (

    select
        *,
        case
            when event_copies > 1
                then {{ onceonly.content_hash(onceonly.event_content_columns()) }}
        end as content_hash

    from ranked

)

select * from final
