with

events as (

    select * from {{ ref('fct_order_events') }}

),

gaps as (

    {{ onceonly.sequence_gaps('events') }}

),

final as (

    select * from gaps

)

select * from final
