{#- Every landed copy, ranked among the copies of its key (1 = the kept copy), with the
    first landed copy's details beside it: what the dq models compare. Content is hashed
    only where a key has several copies (a single copy cannot conflict).

    Incremental: a run ranks again only the copies of the keys that got a copy since the
    last run (all of each such key's copies, old and new), which replace their rows (see
    copies_ranked_strategy); a new copy changes its own key's ranks and counts and no
    other's, and the landed copies are never changed. Ranking every copy at every run
    grew with the history (16 s of an hourly run at 10M copies). -#}
{% macro stream_copies_ranked(relation, key, event_time, content_columns, version=none) -%}
    with
    {%- if is_incremental() %}
    touched_keys as (
        select distinct {{ key }} from ({{ onceonly.new_copies(relation) }}) as new_copies
    ),
    copies as (
        select landed.*
        from {{ relation }} as landed
        inner join touched_keys on landed.{{ key }} = touched_keys.{{ key }}
    ),
    ranked as (
        {{ onceonly.rank_copies('copies', key, event_time, version) }}
    )
    {%- else %}
    ranked as (
        {{ onceonly.rank_every_copy(relation, key, event_time, version) }}
    )
    {%- endif %}
    select
        *,
        case
            when event_copies > 1 then {{ onceonly.content_hash(content_columns) }}
        end as content_hash
    from ranked
{%- endmacro %}

{#- The copies of `relation`, each with its rank among its key's copies and the first
    landed copy's details (the columns stream_copies_ranked adds), by a window over all of
    them. -#}
{% macro rank_copies(relation, key, event_time, version=none) -%}
    select
        *,
        row_number() over kept_first as copy_rank,
        row_number() over first_landed as landed_rank,
        count(*) over (partition by {{ key }}) as event_copies,
        first_value({{ event_time }}) over first_landed as first_event_time,
        first_value(_source_file) over first_landed as first_source_file,
        first_value(_batch_id) over first_landed as first_batch_id
    from {{ relation }}
    window
        kept_first as (partition by {{ key }} order by {{ onceonly.copy_order(version) }}),
        first_landed as (partition by {{ key }} order by {{ onceonly.copy_order() }})
{%- endmacro %}

{#- rank_copies of every copy in `relation`, for a first build. A key landed once is its
    own first copy, so only the keys with several copies go through the window; the rest
    are read as they are (the window sorted every copy with all its columns: 9.8 s of the
    first build at 10M copies on DuckDB). BigQuery bills each read of the relation: there
    every copy is ranked in one read. -#}
{% macro rank_every_copy(relation, key, event_time, version=none) -%}
    {{ return(adapter.dispatch('rank_every_copy', 'onceonly')(relation, key, event_time, version)) }}
{%- endmacro %}

{% macro default__rank_every_copy(relation, key, event_time, version=none) -%}
    with repeated as (
        select {{ key }} from {{ relation }} group by {{ key }} having count(*) > 1
    )
    select
        *,
        cast(1 as bigint) as copy_rank,
        cast(1 as bigint) as landed_rank,
        cast(1 as bigint) as event_copies,
        {{ event_time }} as first_event_time,
        _source_file as first_source_file,
        _batch_id as first_batch_id
    from {{ relation }} as copies
    where not exists (select 1 from repeated as r where r.{{ key }} = copies.{{ key }})
    union all
    {{ onceonly.rank_copies(
        '(select * from ' ~ relation ~ ' as copies where exists (select 1 from repeated as r'
        ~ ' where r.' ~ key ~ ' = copies.' ~ key ~ ')) as repeated_copies',
        key, event_time, version) }}
{%- endmacro %}

{% macro bigquery__rank_every_copy(relation, key, event_time, version=none) -%}
    {{ onceonly.rank_copies(relation, key, event_time, version) }}
{%- endmacro %}

{#- How a run puts the copies it ranked again in place: every row of their keys deleted,
    then inserted again (a MERGE on each copy's identity took ten times as long on DuckDB
    at 10M copies: 2.6 s against 0.26 s); BigQuery has no delete+insert, so there a MERGE
    on the copy's identity, the landing run, file and line (copies_ranked_key). -#}
{% macro copies_ranked_strategy() -%}
    {{ return(adapter.dispatch('copies_ranked_strategy', 'onceonly')()) }}
{%- endmacro %}

{% macro default__copies_ranked_strategy() -%}
    {{ return('delete+insert') }}
{%- endmacro %}

{% macro bigquery__copies_ranked_strategy() -%}
    {{ return('merge') }}
{%- endmacro %}

{#- The unique_key of copies_ranked_strategy: the stream's key for delete+insert, the copy's
    identity for a MERGE. -#}
{% macro copies_ranked_key(key) -%}
    {{ return(adapter.dispatch('copies_ranked_key', 'onceonly')(key)) }}
{%- endmacro %}

{% macro default__copies_ranked_key(key) -%}
    {{ return(key) }}
{%- endmacro %}

{% macro bigquery__copies_ranked_key(key) -%}
    {{ return(['_batch_id', '_source_file', '_line_number']) }}
{%- endmacro %}
