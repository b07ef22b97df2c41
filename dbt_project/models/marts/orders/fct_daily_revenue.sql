{{
    config(
        enabled=onceonly.stream_declared('orders'),
        tags=['stream:orders'],
        unique_key=['revenue_date', 'product_id'],
        incremental_strategy='merge',
        incremental_predicates=[onceonly.batch_range_predicate('revenue_date')],
        partition_by=onceonly.date_partition('revenue_date'),
        cluster_by=onceonly.clustered_by(['product_id']),
    )
}}

-- One row per (revenue_date, product_id), recomputed as a whole (SET, never +=) for every
-- date and product touched by events new since the last run, from the deduplicated facts
-- (a first build: every date and product).

with

-- the facts are named twice rather than through one CTE: a CTE used twice is
-- materialized whole (DuckDB), where each direct read can skip most of the table

{%- if is_incremental() %}

new_events as (

    {{ onceonly.new_copies(ref('fct_orders_events'), watermark_column='_last_event_loaded_at') }}

),

touched_keys as (

    select distinct _event_date, product_id
    from new_events
    where {{ onceonly.revenue_event() }}

),
{%- endif %}

-- a first build's touched events are all of them: scanned again at each use, not held
touched_events as {% if not is_incremental() %}{{ onceonly.not_materialized() }} {% endif %}(

    select events.*
    from {{ ref('fct_orders_events') }} as events
    {%- if is_incremental() %}
    inner join touched_keys
        on events._event_date = touched_keys._event_date
        and events.product_id = touched_keys.product_id
    {%- endif %}
    where {{ onceonly.revenue_event('events') }}

),

revenue_events as (

    {{ onceonly.first_copies_of_facts('touched_events', 'event_id') }}

),

final as (

    select
        _event_date as revenue_date,
        product_id,
        count(distinct case when event_type = 'order_placed' then order_id end)
            as orders_placed,
        cast(coalesce(sum(case when event_type = 'payment_captured' then amount end), 0)
            as {{ onceonly.money_type() }}) as gross_revenue,
        cast(coalesce(sum(case when event_type = 'order_refunded' then amount end), 0)
            as {{ onceonly.money_type() }}) as refunds,
        cast(
            coalesce(sum(case when event_type = 'payment_captured' then amount end), 0)
            - coalesce(sum(case when event_type = 'order_refunded' then amount end), 0)
            as {{ onceonly.money_type() }}
        ) as net_revenue,
        max(_loaded_at) as _last_event_loaded_at

    from revenue_events
    group by _event_date, product_id

)

select * from final
