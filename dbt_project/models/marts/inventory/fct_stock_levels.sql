{{
    config(
        enabled=onceonly.stream_declared('inventory'),
        tags=['stream:inventory'],
        unique_key=['sku', 'warehouse_id'],
        incremental_strategy='merge',
        cluster_by=onceonly.clustered_by(['sku', 'warehouse_id']),
    )
}}

-- Stock per (sku, warehouse_id), recomputed as a whole (SET, never +=) for every pair
-- touched by movements new since the last run, from the deduplicated facts: a movement
-- delivered twice is applied once, so stock is never decremented twice. New movements
-- include those published after `onceonly resolve` chose one of their conflicting copies.

with

new_movements as (

    {{ onceonly.new_facts(
        ref('fct_inventory_events'), 'inventory', 'movement_id',
        watermark_column='_last_movement_loaded_at',
    ) }}

),

touched_levels as (

    select distinct sku, warehouse_id from new_movements

),

touched_movements as (

    select movements.*
    from {{ ref('fct_inventory_events') }} as movements
    inner join touched_levels
        on movements.sku = touched_levels.sku
        and movements.warehouse_id = touched_levels.warehouse_id

),

-- each movement once, even a duplicate that slipped into the facts before the audit
movements as (

    {{ onceonly.first_copies_of_facts('touched_movements', 'movement_id') }}

),

final as (

    select
        sku,
        warehouse_id,
        sum(quantity_delta) as stock,
        count(*) as movements,
        max(moved_at) as last_moved_at,
        max(_loaded_at) as _last_movement_loaded_at

    from movements
    group by sku, warehouse_id

)

select * from final
