-- event_ids delivered with differing content (a producer bug): reported; the first copy
-- is the one kept in the facts.

with

copies as (

    select * from {{ ref('int_order_event_copies_ranked') }}
    where event_copies > 1  -- a single copy cannot conflict

),

per_event as (

    select
        event_id,
        count(*) as copies,
        count(distinct content_hash) as versions,
        min(first_source_file) as first_source_file,
        min(_loaded_at) as first_loaded_at

    from copies
    group by event_id

),

final as (

    select * from per_event
    where versions > 1

)

select * from final
