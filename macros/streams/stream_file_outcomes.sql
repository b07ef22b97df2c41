{#- One row per delivered file of a stream, however many landing runs saw it: its first
    landed attempt if it ever landed (a rerun's "already landed" records and a forced
    re-landing do not make it another file), else its latest attempt (skipped as a copy
    of another file, or rejected). `attempts` counts every ledger row of the file. -#}
{% macro stream_file_outcomes(batches) -%}
    with ranked as (
        select
            *,
            row_number() over (
                partition by source_file
                order by
                    case when status = 'landed' then 0 else 1 end,
                    case when status = 'landed' then attempted_at end,
                    attempted_at desc,
                    batch_id
            ) as decisive_rank,
            count(*) over (partition by source_file) as attempts
        from {{ batches }}
    )
    select
        source_file,
        arrived_at,
        status,
        detail,
        control_total,
        control_total_status,
        lines,
        landed,
        quarantined,
        new_events,
        duplicates_in_file,
        duplicates_of_earlier,
        batch_id as decisive_batch_id,
        attempted_at as decisive_attempted_at,
        attempts
    from ranked
    where decisive_rank = 1
{%- endmacro %}
