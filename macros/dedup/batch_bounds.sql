{#- Incremental predicates that bound a MERGE's scan of its target to what the batch can
    touch, so a run costs what its batch costs, not what history costs (on BigQuery the
    bound prunes the target's partitions, and bytes scanned are the bill).

    A bound depends on the batch, which exists only when the model runs: a predicate holds
    tokens `__onceonly_min(column)__` / `__onceonly_max(column)__` standing for the smallest
    and largest date of a column of the MERGE source, and get_merge_sql replaces them with
    date literals computed from that source (a constant every engine can prune by). -#}

{% macro batch_min(column) -%}
    {{ return('__onceonly_min(' ~ column ~ ')__') }}
{%- endmacro %}

{% macro batch_max(column) -%}
    {{ return('__onceonly_max(' ~ column ~ ')__') }}
{%- endmacro %}

{#- Target rows whose `column` lies between the batch's smallest `low_column` and largest
    `high_column` (both default to `column`). -#}
{% macro batch_range_predicate(column, low_column=none, high_column=none, target_alias='DBT_INTERNAL_DEST') -%}
    {{ return(
        target_alias ~ '.' ~ column ~ ' between ' ~ onceonly.batch_min(low_column or column)
        ~ ' and ' ~ onceonly.batch_max(high_column or column)
    ) }}
{%- endmacro %}

{#- The dedup window: target rows whose event date is at most `window_days` (the stream's
    dedup_window_days) before the batch's newest arrival. Duplicates of older events slip
    past and are caught by the full audit (`onceonly reconcile --full`). -#}
{% macro dedup_window_predicate(window_days, column='_event_date', target_alias='DBT_INTERNAL_DEST') -%}
    {{ return(
        target_alias ~ '.' ~ column ~ ' >= '
        ~ onceonly.days_before(onceonly.batch_max('_arrived_at'), window_days)
    ) }}
{%- endmacro %}

{#- The predicates with every bound token replaced by a date literal from `source` (a
    relation, or a parenthesised query on BigQuery). An empty batch gives null bounds,
    which match no target row. -#}
{% macro resolve_batch_bounds(predicates, source) -%}
    {%- set pattern = '__onceonly_(min|max)\\((\\w+)\\)__' -%}
    {%- set tokens = [] -%}
    {%- for predicate in predicates or [] -%}
        {%- for found in modules.re.findall(pattern, predicate) -%}
            {%- if found not in tokens -%}{%- do tokens.append(found) -%}{%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if not tokens or not execute -%}
        {{ return(predicates) }}
    {%- endif -%}
    {%- set bounds_sql -%}
        select
        {%- for fn, column in tokens %}
            cast(cast({{ fn }}({{ column }}) as date) as {{ dbt.type_string() }}) as bound_{{ loop.index }}{{ ',' if not loop.last }}
        {%- endfor %}
        from {{ source }} as onceonly_batch
    {%- endset -%}
    {%- set row = run_query(bounds_sql).rows[0] -%}
    {%- set resolved = [] -%}
    {%- for predicate in predicates -%}
        {%- set ns = namespace(text=predicate) -%}
        {%- for fn, column in tokens -%}
            {%- set value = row[loop.index0] -%}
            {%- set literal = "cast(null as date)" if value is none else "cast('" ~ value ~ "' as date)" -%}
            {%- set ns.text = ns.text | replace('__onceonly_' ~ fn ~ '(' ~ column ~ ')__', literal) -%}
        {%- endfor -%}
        {%- do resolved.append(ns.text) -%}
    {%- endfor -%}
    {{ return(resolved) }}
{%- endmacro %}

{#- The earliest event date among the events of the entities (e.g. orders) that the new
    events touch, as a date literal read when the model runs: the least of the new events'
    dates and of the first event dates this model already holds for those entities. An
    entity's earlier events all lie on or after its first event date (which a later event
    can only move earlier, and then it is new), so a mart that reads every event of each
    touched entity may read the facts from this date on: zone maps (DuckDB) or partitions
    (BigQuery) then skip history older than the oldest touched entity. Null when nothing
    is new, which matches no event. Only for an incremental run: `this` must exist. -#}
{% macro touched_events_floor(new_events, entity, first_date, event_date='_event_date') -%}
    {%- set floor_sql -%}
        select cast(min(floor_date) as {{ dbt.type_string() }}) from (
            select min({{ event_date }}) as floor_date from ({{ new_events }}) as new_events
            union all
            select min(held.{{ first_date }}) from {{ this }} as held
            where held.{{ entity }} in (
                select {{ entity }} from ({{ new_events }}) as new_events
            )
        ) as floors
    {%- endset -%}
    {{ onceonly.scalar_literal(floor_sql, 'date', 'cast(null as date)') }}
{%- endmacro %}
