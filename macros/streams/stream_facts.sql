{#- The body of a stream's facts: one row per key. The batch is what landed since the
    facts' watermark, deduplicated in itself first (a MERGE whose source holds a key twice
    fails), then merged on the key by the model's config. With a version role, a copy only
    enters when no row of its key with the same or a higher version is in the facts. -#}
{% macro stream_facts(relation, key, columns, version=none) -%}
    with kept as (
        {{ onceonly.first_copies_of_scan(onceonly.new_copies(relation), key, version) }}
    )
    select {{ onceonly.fact_columns(columns, 'kept') }}
    from kept
    {%- if version and is_incremental() %}
    where not exists (
        select 1 from {{ this }} as existing
        where existing.{{ key }} = kept.{{ key }} and existing.{{ version }} >= kept.{{ version }}
    )
    {%- endif %}
{%- endmacro %}
