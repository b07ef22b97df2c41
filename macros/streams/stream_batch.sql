{#- Write-audit-publish for exactly_once streams, each row written once.

    Write (stream_batch, materialized `staged_write`): the copies landed after the
    published facts' newest load, deduplicated in themselves and against every key ever
    published (no window: a copy arriving any time later never reaches the facts), are
    appended to the stream's writes under the next write number; the rows of a write
    that was never published are deleted first (their copies are in the new write).
    Audit: the batch is a view of the writes not published, and its tests run before
    anything reads it. Publish (stream_publication): one row naming the write, appended
    to the stream's publications, which dbt builds only after every test passed. The
    facts (stream_published_facts) are a view of the writes up to the newest publication:
    whatever stops a run, they hold a whole write or none of it, and a failing batch
    leaves them, and the marts after them, as they were. -#}

{#- The newest published write number (0 before the first publish), as a scalar
    subquery read in the statement's own transaction. -#}
{% macro published_write(publications_name) -%}
    {%- set publications = onceonly.relation_named('staging', publications_name) -%}
    {%- if publications is none -%}
        0
    {%- else -%}
        {{ onceonly.newest_write(publications) }}
    {%- endif -%}
{%- endmacro %}

{#- The newest write number of `publications` (0 when it is empty). -#}
{% macro newest_write(publications) -%}
    (select coalesce(max(write_id), 0) from {{ publications }})
{%- endmacro %}

{#- The published facts read from the writes (the facts view may not exist yet when a
    run stopped right after a publish), as a subquery; none before the first write. -#}
{% macro published_facts(writes_name, publications_name) -%}
    {%- set writes = onceonly.relation_named('staging', writes_name) -%}
    {%- if writes is none -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return('(select * from ' ~ writes ~ ' where _write_id <= '
        ~ onceonly.published_write(publications_name) ~ ')') }}
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
{% macro unpublished_copies(relation, writes_name, publications_name) -%}
    {%- set published = onceonly.published_facts(writes_name, publications_name) -%}
    select * from {{ relation }}
    {%- if published is not none %}
    where _loaded_at > {{ onceonly.watermark('_loaded_at', published) }}
        and _loaded_at > {{ onceonly.newest_load(published) }}
    {%- endif %}
{%- endmacro %}

{#- The newest `_loaded_at` of `relation` (the floor when it is empty), as a scalar
    subquery read in the statement's own transaction. -#}
{% macro newest_load(relation) -%}
    (select coalesce(max(_loaded_at), {{ onceonly.timestamp_floor() }}) from {{ relation }} as loaded)
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
    the batch, wherever it landed. A key is passed over when a copy of it landed up to the
    published facts' newest load (`earlier`): it is published already, or it was held then
    (a key with conflicting copies is never published but by `chosen`). Raw is never
    trimmed, so every published key has such a copy: one scan of the history's keys,
    probing a hash of the batch's, finds both. Only the batch's keys are looked up in the
    history, so a run's cost follows its batch.

    Most keys land once and are new: their copies are kept by one pass over the batch that
    probes the small set of keys passed over (`passed_over`: the earlier, the repeated and
    the chosen keys). The repeated keys' copies alone are ranked. -#}
{% macro stream_batch(
    relation, key, columns, writes_name, publications_name, content_columns, resolutions, stream
) -%}
    {%- set published = onceonly.published_facts(writes_name, publications_name) -%}
    {%- set as_text = 'cast(c.' ~ key ~ ' as ' ~ dbt.type_string() ~ ')' -%}
    {%- set unpublished = onceonly.unpublished_copies(relation, writes_name, publications_name) %}
    with repeated as (
        select {{ key }} from ({{ unpublished }}) as u
        group by {{ key }}
        having count(*) > 1
    ),
    earlier as (
        {%- if published is not none %}
        select h.{{ key }} from {{ relation }} as h
        where h._loaded_at <= {{ onceonly.newest_load(published) }}
            and h.{{ key }} in (select u.{{ key }} from ({{ unpublished }}) as u)
        {%- else %}
        select {{ key }} from {{ relation }} where 1 = 0
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
    passed_over as (
        select {{ key }} from earlier
        union all
        select {{ key }} from repeated
        union all
        select {{ key }} from chosen
    ),
    conflicting as (
        select c.{{ key }} from ({{ unpublished }}) as c
        where c.{{ key }} in (select {{ key }} from repeated)
        group by c.{{ key }}
        having count(distinct {{ onceonly.content_hash(content_columns) }}) > 1
    ),
    several as (
        select u.*, false as _chosen from ({{ unpublished }}) as u
        where u.{{ key }} in (select {{ key }} from repeated)
            {%- for excluded in ['earlier', 'conflicting', 'chosen'] %}
            and not exists (select 1 from {{ excluded }} as x where x.{{ key }} = u.{{ key }})
            {%- endfor %}
    ),
    kept as (
        select u.*, false as _chosen, 1 as _copy_rank from ({{ unpublished }}) as u
        where not exists (select 1 from passed_over as x where x.{{ key }} = u.{{ key }})
        union all
        {{ onceonly.first_copies('several', key) }}
        union all
        select *, 1 as _copy_rank from chosen
    )
    select
        {{ onceonly.fact_columns(columns, 'kept') }},
        kept._chosen,
        {{ onceonly.published_write(publications_name) }} + 1 as _write_id
    from kept
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

{#- The batch: the rows of the writes no publication took (at most one write: each
    write deletes the unpublished rows before it). Its tests are the audit. -#}
{% macro stream_unpublished(writes, publications_name) -%}
    select * from {{ writes }}
    where _write_id > {{ onceonly.published_write(publications_name) }}
{%- endmacro %}

{#- The publish: one row naming the batch's write, appended after every test of the batch
    passed (none when the batch is empty). -#}
{% macro stream_publication(batch) -%}
    select write_id, facts_added, published_at from (
        select
            max(_write_id) as write_id,
            count(*) as facts_added,
            {{ dbt.current_timestamp() }} as published_at
        from {{ batch }}
    ) as written
    where facts_added > 0
{%- endmacro %}

{#- The facts: the writes up to the newest publication. -#}
{% macro stream_published_facts(writes, publications, columns) -%}
    select {{ onceonly.fact_columns(columns, 'w') }}
    from {{ writes }} as w
    where w._write_id <= {{ onceonly.newest_write(publications) }}
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
