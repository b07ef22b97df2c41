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
