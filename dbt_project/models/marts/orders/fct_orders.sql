{{
    config(
        enabled=onceonly.stream_declared('orders'),
        tags=['stream:orders'],
        unique_key='order_id',
        incremental_strategy='merge',
        incremental_predicates=[
            onceonly.batch_range_predicate('order_date', 'order_date', 'last_event_date')
        ],
        partition_by=onceonly.date_partition('order_date'),
        cluster_by=onceonly.clustered_by(['order_id']),
    )
}}

-- One row per order, recomputed as a whole (SET, never +=) for every order touched by
-- events new since the last run, from the deduplicated facts. order_date (its first
-- event's date, the partition) only moves earlier and stays within the order's events,
-- so the MERGE looks for a touched order's row between the batch's smallest order_date
-- and largest last_event_date, and a touched order's events are read from the facts from
-- the earliest order_date among the touched orders on (touched_events_floor). A first
-- build reads every event.

{#- read once: its watermark is a query run when the model is compiled -#}
{%- set new_events_sql = onceonly.new_copies(
    ref('fct_orders_events'), watermark_column='_last_event_loaded_at'
) %}

with

-- the facts are named twice rather than through one CTE: a CTE used twice is
-- materialized whole (DuckDB), where each direct read can skip most of the table

{%- if is_incremental() %}

new_events as (

    {{ new_events_sql }}

),

touched_orders as (

    select distinct order_id from new_events

),
{%- endif %}

-- a first build's touched events are all of them: scanned again at each use, not held
touched_events as {% if not is_incremental() %}{{ onceonly.not_materialized() }} {% endif %}(

    select events.*
    from {{ ref('fct_orders_events') }} as events
    {%- if is_incremental() %}
    inner join touched_orders on events.order_id = touched_orders.order_id
    -- no touched order has an event before this date: older history is not read
    where events._event_date >= {{
        onceonly.touched_events_floor(new_events_sql, 'order_id', 'order_date')
    }}
    {%- endif %}

),

-- (deterministic: each copy has one rank, so reading it twice gives the same rows)
order_events as {% if not is_incremental() %}{{ onceonly.not_materialized() }} {% endif %}(

    {{ onceonly.first_copies_of_facts('touched_events', 'event_id') }}

),

placed as (

    select
        order_id,
        customer_id,
        product_id,
        quantity,
        amount as order_amount,
        occurred_at as placed_at,
        row_number() over (
            partition by order_id order by occurred_at, sequence_number
        ) as placed_rank

    from order_events
    where event_type = 'order_placed'

),

totals as (

    select
        order_id,
        cast(coalesce(sum(case when event_type = 'payment_captured' then amount end), 0)
            as {{ onceonly.money_type() }}) as captured_amount,
        cast(coalesce(sum(case when event_type = 'order_refunded' then amount end), 0)
            as {{ onceonly.money_type() }}) as refunded_amount,
        min(_event_date) as order_date,
        max(_event_date) as last_event_date,
        max(_loaded_at) as _last_event_loaded_at,
        -- the latest event's type; an aggregate, not a window ranking every event
        {{ onceonly.last_by('event_type', ['occurred_at', 'sequence_number']) }} as status

    from order_events
    group by order_id

),

final as (

    select
        totals.order_id,
        totals.order_date,
        totals.last_event_date,
        placed.customer_id,
        placed.product_id,
        placed.quantity,
        placed.order_amount,
        placed.placed_at,
        totals.captured_amount,
        totals.refunded_amount,
        totals.status,
        totals._last_event_loaded_at

    from totals
    left join placed
        on totals.order_id = placed.order_id and placed.placed_rank = 1

)

select * from final
