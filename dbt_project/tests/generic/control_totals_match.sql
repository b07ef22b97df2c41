{#- exactly_once: every file whose copies wait in the batch adds up to the control totals
    its manifest declares (raw.manifest_totals), field by field, over the rows it landed.
    A file with a quarantined or lost line does not, and holds the batch back until a
    later landing attempt of the same file adds up (say, re-landed with --force once the
    cause was fixed): each file is judged by its newest attempt among those waiting. -#}
{% test control_totals_match(model, staging, writes, publications, stream, fields) %}
    {%- set copies = onceonly.relation_named('staging', staging) -%}
    {%- if copies is none %}
    select 1 as nothing_to_check where 1 = 0
    {%- else %}
    with unpublished as (
        {{ onceonly.unpublished_copies(copies, writes, publications) }}
    ),
    landed as (
        select _batch_id as batch_id, _source_file as source_file
        {%- for f in fields %}, sum({{ f }}) as {{ f }}{% endfor %}
        from unpublished
        group by _batch_id, _source_file
    ),
    attempts as (
        select
            t.batch_id, t.source_file, t.field, t.declared,
            row_number() over (
                partition by t.source_file, t.field order by l.attempted_at desc, t.batch_id desc
            ) as newest
        from {{ source('raw', 'manifest_totals') }} as t
        join {{ source('raw', 'load_ledger') }} as l
            on l.batch_id = t.batch_id and l.source_file = t.source_file and l.stream = t.stream
        where t.stream = '{{ stream }}'
            and t.batch_id in (select batch_id from landed)
    ),
    compared as (
        select
            a.batch_id, a.source_file, a.field, a.declared,
            coalesce(case a.field
                {%- for f in fields %} when '{{ f }}' then landed.{{ f }}{% endfor %}
            end, 0) as landed
        from attempts as a
        left join landed on landed.batch_id = a.batch_id and landed.source_file = a.source_file
        where a.newest = 1
    )
    select batch_id, source_file, field, declared, landed
    from compared
    where declared <> landed
    {%- endif %}
{% endtest %}
