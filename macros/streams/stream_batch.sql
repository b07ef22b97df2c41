{#- Write-audit-publish for exactly_once streams.

    stream_batch (write): the copies landed after the published facts' newest load,
    deduplicated in themselves and against every key ever published (no window: a copy
    arriving any time later never reaches the facts). The batch is a table of its own;
    the tests on it (audit) run before the facts read it, and a failing test leaves the
    facts, and the marts after them, as they were. A batch that is not published stays
    the start of the next run's batch: later copies wait behind it.

    stream_published (publish): the facts take in the audited batch with one append. -#}

{#- The published facts, read without a ref (they depend on the batch, not the other way
    round); none before the first publish. -#}
{% macro published_facts(name) -%}
    {{ return(onceonly.relation_named('analytics', name)) }}
{%- endmacro %}

{#- A relation of the project read without a ref (none while it does not exist, and at
    parse time). A publish check reads its stream's staging this way: a test with a second
    ref would not hold back the facts that build on its model. -#}
{% macro relation_named(schema, name) -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(adapter.get_relation(
        database=target.database,
        schema=generate_schema_name(schema, none) | trim,
        identifier=name,
    )) }}
{%- endmacro %}

{#- The copies of `relation` landed after the newest copy published into the facts
    (all of them before the first publish). The watermark appears twice, as in
    new_copies: a literal the engine prunes by, and a subquery read in the statement's
    own transaction. -#}
{% macro unpublished_copies(relation, facts_name) -%}
    {%- set published = onceonly.published_facts(facts_name) -%}
    select * from {{ relation }}
    {%- if published is not none %}
    where _loaded_at > {{ onceonly.watermark('_loaded_at', published) }}
        and _loaded_at > {{ onceonly.newest_load(published) }}
    {%- endif %}
{%- endmacro %}

{#- The newest `_loaded_at` of `relation` (the floor when it is empty), as a scalar
    subquery read in the statement's own transaction. -#}
{% macro newest_load(relation) -%}
    (select coalesce(max(_loaded_at), {{ onceonly.timestamp_floor() }}) from {{ relation }})
{%- endmacro %}

{#- The newest decision of `onceonly resolve` per key of the stream. -#}
{% macro newest_resolutions(resolutions, stream) -%}
    select * from (
        select
            *,
            row_number() over (partition by key_value order by resolved_at desc) as _newest
        from {{ resolutions }}
        where stream = '{{ stream }}'
    ) as decided
    where _newest = 1
{%- endmacro %}

{#- The write. A key of the batch whose copies differ in content is held out of it until
    `onceonly resolve` chose one of its copies (`resolutions`); the chosen copy then joins
    the batch, wherever it landed. A key is held when its copies in the batch differ, or
    when it was never published yet has a copy landed up to the facts' newest load: such
    a copy would have been published unless its key was held then (a copy chosen since
    is published by `chosen`). Only the batch's keys are looked up in the history, so a
    run's cost follows its batch; a key with one copy in the batch is not ranked.

    The joins on keys are semi-joins (`in`) and anti-joins (`not exists`) on CTEs of keys:
    DuckDB then hashes keys, not the batch's copies, and holds no copy in memory. -#}
{% macro stream_batch(
    relation, key, columns, facts_name, content_columns, resolutions, stream
) -%}
    {%- set published = onceonly.published_facts(facts_name) -%}
    {%- set newest = onceonly.newest_load(published) if published is not none
        else onceonly.timestamp_floor() -%}
    {%- set as_text = 'cast(c.' ~ key ~ ' as ' ~ dbt.type_string() ~ ')' -%}
    {%- set unpublished = onceonly.unpublished_copies(relation, facts_name) %}
    with batch_keys as (
        select {{ key }}, count(*) as _copies from ({{ unpublished }}) as u
        group by {{ key }}
    ),
    new_keys as (
        select * from batch_keys as k
        {%- if published is not none %}
        where not exists (select 1 from {{ published }} as p where p.{{ key }} = k.{{ key }})
        {%- endif %}
    ),
    conflicting as (
        select c.{{ key }} from ({{ unpublished }}) as c
        where c.{{ key }} in (select {{ key }} from new_keys where _copies > 1)
        group by c.{{ key }}
        having count(distinct {{ onceonly.content_hash(content_columns) }}) > 1
        {%- if published is not none %}
        union all
        select h.{{ key }} from {{ relation }} as h
        where h._loaded_at <= {{ newest }}
            and h.{{ key }} in (select {{ key }} from new_keys)
        {%- endif %}
    ),
    decided as (
        {{ onceonly.newest_resolutions(resolutions, stream) }}
    ),
    chosen as (
        select c.*, true as _chosen from {{ relation }} as c
        inner join decided as d
            on d.key_value = {{ as_text }}
            and d.batch_id = c._batch_id
            and d.source_file = c._source_file
            and d.line_number = c._line_number
        {%- if published is not none %}
        where not exists (select 1 from {{ published }} as p where p.{{ key }} = c.{{ key }})
        {%- endif %}
    ),
    several as (
        {{ onceonly.unheld_copies(unpublished, key, '> 1') }}
        union all
        select * from chosen
    ),
    kept as (
        select *, 1 as _copy_rank from (
            {{ onceonly.unheld_copies(unpublished, key, '= 1') }}
                and not exists (select 1 from chosen as s where s.{{ key }} = u.{{ key }})
        ) as single
        union all
        {{ onceonly.first_copies('several', key) }}
    )
    select
        {{ onceonly.fact_columns(columns, 'kept') }},
        kept._chosen,
        {{ newest }} as _written_over
    from kept
{%- endmacro %}

{#- The batch's copies of keys neither published nor held whose number of copies in the
    batch meets `copies` (e.g. '= 1'), read in stream_batch (its CTEs new_keys and
    conflicting). -#}
{% macro unheld_copies(unpublished, key, copies) -%}
    select u.*, false as _chosen from ({{ unpublished }}) as u
    where u.{{ key }} in (select {{ key }} from new_keys where _copies {{ copies }})
        and not exists (select 1 from conflicting as h where h.{{ key }} = u.{{ key }})
{%- endmacro %}

{#- Keys with conflicting copies that are neither resolved nor published: held. -#}
{% macro stream_held_conflicts(conflicts, facts, resolutions, key, stream) -%}
    {%- set as_text = 'cast(c.' ~ key ~ ' as ' ~ dbt.type_string() ~ ')' -%}
    with decided as (
        {{ onceonly.newest_resolutions(resolutions, stream) }}
    )
    select c.* from {{ conflicts }} as c
    where not exists (select 1 from decided as d where d.key_value = {{ as_text }})
        and not exists (select 1 from {{ facts }} as f where f.{{ key }} = c.{{ key }})
{%- endmacro %}

{#- The publish takes in a batch only while the facts are as the batch was written over
    (`_written_over`): a batch already published, or written before another was, appends
    nothing (its copies are in the next run's batch). A copy `onceonly resolve` chose may
    have landed before the facts' newest load, so a batch of such copies alone would leave
    the facts' newest load where it was: their keys are looked up in the facts (only when
    the batch holds such a copy: the look-up reads every published key). -#}
{% macro stream_published(batch, key, columns) -%}
    select {{ onceonly.fact_columns(columns, 'b') }}
    from {{ batch }} as b
    {%- if is_incremental() %}
    {%- set unchanged = 'b._written_over = ' ~ onceonly.newest_load(this) %}
    where {{ unchanged }} and not b._chosen
    {%- if onceonly.has_rows(batch, '_chosen') %}
    union all
    select {{ onceonly.fact_columns(columns, 'b') }}
    from {{ batch }} as b
    where {{ unchanged }} and b._chosen
        and not exists (select 1 from {{ this }} as p where p.{{ key }} = b.{{ key }})
    {%- endif %}
    {%- endif %}
{%- endmacro %}

{#- Whether `relation` has a row where `condition` holds, read when the model compiles
    (true at parse time, when nothing runs). -#}
{% macro has_rows(relation, condition) -%}
    {%- if not execute -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set found = run_query('select 1 from ' ~ relation ~ ' where ' ~ condition ~ ' limit 1') -%}
    {{ return(found.rows | length > 0) }}
{%- endmacro %}

{#- What a mart on an exactly_once stream's facts takes in at each run: the facts landed
    after its watermark (as new_copies), and the facts of keys resolved since, whose
    chosen copy may have landed long before (a resolution happens after the mart's last
    run over the published facts, so its time is past the watermark). Marts recompute
    what the rows touch as a whole (SET), so taking a row twice changes nothing. -#}
{% macro new_facts(relation, stream, key, watermark_column='_loaded_at') -%}
    {%- if not is_incremental() -%}
    select * from {{ relation }}
    {%- else -%}
    {%- set since -%}
        (select coalesce(max({{ watermark_column }}), {{ onceonly.timestamp_floor() }}) from {{ this }})
    {%- endset -%}
    select * from {{ relation }} as f
    where (f._loaded_at > {{ onceonly.watermark(watermark_column) }} and f._loaded_at > {{ since }})
        or cast(f.{{ key }} as {{ dbt.type_string() }}) in (
            select key_value from {{ source('raw', 'conflict_resolutions') }}
            where stream = '{{ stream }}' and resolved_at > {{ since }}
        )
    {%- endif -%}
{%- endmacro %}
