{#- In-batch dedup: one row per key, the kept copy (see copy_order). A MERGE whose source
    holds a key twice fails on BigQuery, PostgreSQL and DuckDB, so every MERGE source goes
    through this first. -#}
{% macro first_copies(relation, key, version=none) -%}
    select * from (
        select
            *,
            row_number() over (partition by {{ key }} order by {{ onceonly.copy_order(version) }})
                as _copy_rank
        from {{ relation }}
    ) as ranked
    where _copy_rank = 1
{%- endmacro %}

{#- first_copies of a query cheap to read again (a filtered scan of the landed copies):
    only the keys with several copies are ranked, a key landed once is kept as it is.
    The query is read three times rather than through one CTE, which DuckDB would hold
    whole in memory (10M copies: half the time, and no spill to disk). -#}
{% macro first_copies_of_scan(query, key, version=none) -%}
    with repeated as (
        select {{ key }} from ({{ query }}) as copies
        group by {{ key }} having count(*) > 1
    )
    select *, 1 as _copy_rank from ({{ query }}) as copies
    where not exists (select 1 from repeated as r where r.{{ key }} = copies.{{ key }})
    union all
    {{ onceonly.first_copies(
        '(select * from (' ~ query ~ ') as copies where exists (select 1 from repeated as r'
        ~ ' where r.' ~ key ~ ' = copies.' ~ key ~ ')) as repeated_copies', key, version) }}
{%- endmacro %}

{#- first_copies of deduplicated facts, or of a CTE of them (the events a batch touched):
    a key repeats there only where a late duplicate slipped in before the audit, so only
    the repeated keys are ranked, as first_copies_of_scan does; ranking every row cost
    most of a mart's run (fct_daily_revenue in an hourly run at 1M copies: 0.55 s to
    0.26 s, benchmarks/bench_hourly_run.py). BigQuery reads a CTE again at each mention,
    and bills each read: there every row is ranked in one read. -#}
{% macro first_copies_of_facts(relation, key) -%}
    {{ return(adapter.dispatch('first_copies_of_facts', 'onceonly')(relation, key)) }}
{%- endmacro %}

{% macro default__first_copies_of_facts(relation, key) -%}
    {{ onceonly.first_copies_of_scan('select * from ' ~ relation, key) }}
{%- endmacro %}

{% macro bigquery__first_copies_of_facts(relation, key) -%}
    {{ onceonly.first_copies(relation, key) }}
{%- endmacro %}
