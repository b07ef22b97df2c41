{#- The write of write-audit-publish (exactly_once): the model's rows are appended to its
    table in one transaction (where the warehouse has them), after the rows of any write
    that no publication took are deleted: a batch that failed its checks, or a run that
    stopped before it published, has its copies in the model's rows again. Published rows
    are never rewritten, not even by `--full-refresh`, and each row is written once (no
    temporary copy, unlike an incremental model). Config: `publications`, the relation
    that records the published write numbers (`_write_id`). -#}
{% materialization staged_write, default %}
    {%- set existing = load_cached_relation(this) -%}
    {%- set target = this.incorporate(type='table') -%}
    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}
    {%- if existing is none %}
        {%- call statement('main') -%}
            {{ create_table_as(False, target, compiled_code) }}
        {%- endcall %}
    {%- else %}
        {%- call statement('unpublished') -%}
            {{ onceonly.delete_unpublished(target, config.require('publications')) }}
        {%- endcall %}
        {%- set columns = adapter.get_columns_in_relation(target)
            | map(attribute='quoted') | join(', ') -%}
        {%- call statement('main') -%}
            insert into {{ target }} ({{ columns }})
            select {{ columns }} from ({{ compiled_code }}) as written
        {%- endcall %}
    {%- endif %}
    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {% do adapter.commit() %}
    {{ run_hooks(post_hooks, inside_transaction=False) }}
    {{ return({'relations': [target]}) }}
{% endmaterialization %}

{#- Deletes the rows of `relation` whose write no publication took. -#}
{% macro delete_unpublished(relation, publications_name) -%}
    {{ return(adapter.dispatch('delete_unpublished', 'onceonly')(relation, publications_name)) }}
{%- endmacro %}

{% macro default__delete_unpublished(relation, publications_name) -%}
    delete from {{ relation }}
    where _write_id > {{ onceonly.published_write(publications_name) }}
{%- endmacro %}

{#- A MERGE that deletes (BigQuery's emulator has no DELETE). -#}
{% macro bigquery__delete_unpublished(relation, publications_name) -%}
    merge into {{ relation }} as w
    using (select {{ onceonly.published_write(publications_name) }} as newest) as p
    on w._write_id > p.newest
    when matched then delete
{%- endmacro %}
