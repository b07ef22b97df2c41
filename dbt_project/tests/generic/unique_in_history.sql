{#- exactly_once: each key of the batch about to be published is once among every row
    written, the published facts and the batch together: once in the batch and never
    published already (the write's anti-join, audited over the whole history before the
    publish, so that a key can never be published twice). One scan of the writes' keys,
    looked up among the batch's. -#}
{% test unique_in_history(model, column_name, writes) %}
    {%- set written = onceonly.relation_named('staging', writes) -%}
    select w.{{ column_name }} as unique_field, count(*) as n_records
    from {{ written }} as w
    where w.{{ column_name }} in (select b.{{ column_name }} from {{ model }} as b)
    group by w.{{ column_name }}
    having count(*) > 1
{% endtest %}
