{#- exactly_once: no key of the batch about to be published is among the published
    facts (the write's anti-join, audited over the whole history before the publish, so
    a key can never be published twice). -#}
{% test keys_not_published(model, column_name, writes, publications) %}
    {%- set published = onceonly.published_facts(writes, publications) -%}
    {%- if published is none %}
    select 1 as nothing_to_check where 1 = 0
    {%- else %}
    select b.{{ column_name }}, b._batch_id, b._source_file, b._line_number
    from {{ model }} as b
    where b.{{ column_name }} in (select p.{{ column_name }} from {{ published }} as p)
    {%- endif %}
{% endtest %}
