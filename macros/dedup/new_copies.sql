{#- The batch of an incremental run: rows landed after the newest one this model has
    already taken in (`watermark_column` of `this`). A re-run with nothing new selects
    nothing; a first or full-refresh run selects everything.

    The watermark appears twice. As a literal read when the model is compiled, it lets
    DuckDB skip row groups by their `_loaded_at` zone maps and BigQuery prune partitions
    (a subquery alone reads the whole table). As a subquery, evaluated in the statement's
    own transaction (after the per-model lock on PostgreSQL), it keeps a run that waited
    for another from taking the same batch again. The literal is never later than the
    subquery's value, so it removes nothing the subquery keeps. -#}
{% macro new_copies(relation, watermark_column='_loaded_at') -%}
    select * from {{ relation }}
    {% if is_incremental() %}
    where _loaded_at > {{ onceonly.watermark(watermark_column) }}
        and _loaded_at > (
            select coalesce(max({{ watermark_column }}), {{ onceonly.timestamp_floor() }})
            from {{ this }}
        )
    {% endif %}
{%- endmacro %}

{#- The newest `column` value of `relation` (default: `this`) as a timestamp literal,
    read when the model is compiled (the floor when empty, or at parse time, when nothing
    runs). -#}
{% macro watermark(column, relation=none) -%}
    {%- set newest_sql -%}
        select cast(max({{ column }}) as {{ dbt.type_string() }}) from {{ relation or this }} as newest
    {%- endset -%}
    {{ onceonly.scalar_literal(newest_sql, 'timestamp', onceonly.timestamp_floor()) }}
{%- endmacro %}

{#- The one value `query` returns (cast to a string), as a literal of `type` read when the
    model is compiled: a constant every engine can prune by. `otherwise` when the value is
    null, or at parse time, when nothing runs. -#}
{% macro scalar_literal(query, type, otherwise) -%}
    {%- if execute -%}
        {%- set value = run_query(query).columns[0].values()[0] -%}
    {%- endif -%}
    {%- if execute and value is not none -%}
        cast('{{ value }}' as {{ type }})
    {%- else -%}
        {{ otherwise }}
    {%- endif -%}
{%- endmacro %}
