-- Every landed copy, ranked among the copies of its event_id (1 = the first landed),
-- with the first copy's arrival and content hash beside it: what the dq models compare.

with

copies as (

    select * from {{ ref('stg_orders__events') }}

),

hashed as (

    select
        *,
        {{ onceonly.content_hash(onceonly.event_content_columns()) }} as content_hash

    from copies

),

ranked as (

    select
        *,
        row_number() over (
            partition by event_id order by {{ onceonly.copy_order() }}
        ) as copy_rank

    from hashed

),

first_copy as (

    select
        event_id,
        occurred_at as first_occurred_at,
        _source_file as first_source_file,
        _batch_id as first_batch_id,
        content_hash as first_content_hash

    from ranked
    where copy_rank = 1

),

final as (

    select
        ranked.*,
        first_copy.first_occurred_at,
        first_copy.first_source_file,
        first_copy.first_batch_id,
        first_copy.first_content_hash

    from ranked
    inner join first_copy on ranked.event_id = first_copy.event_id

)

select * from final
