{#- Per landing run (batch) and file of a stream: the control total from the manifest,
    lines read, landed and quarantined, and what the landed copies were: new events,
    duplicates within the file, or duplicates of events that had landed before. -#}
{% macro stream_batch_reconciliation(ledger, ranked, stream) -%}
    with copy_kinds as (
        select
            _batch_id as batch_id,
            _source_file as source_file,
            sum(case when landed_rank = 1 then 1 else 0 end) as new_events,
            sum(case when landed_rank > 1 and first_batch_id = _batch_id
                and first_source_file = _source_file then 1 else 0 end) as duplicates_in_file,
            sum(case when landed_rank > 1 and not (first_batch_id = _batch_id
                and first_source_file = _source_file) then 1 else 0 end) as duplicates_of_earlier
        from {{ ranked }}
        group by _batch_id, _source_file
    )
    select
        ledger.batch_id,
        ledger.source_file,
        ledger.arrived_at,
        ledger.attempted_at,
        ledger.status,
        ledger.detail,
        ledger.forced,
        ledger.manifest_record_count as control_total,
        case
            when ledger.manifest_record_count is null then 'no manifest'
            when ledger.status = 'rejected' then 'mismatch'
            else 'match'
        end as control_total_status,
        ledger.lines_read as lines,
        ledger.rows_landed as landed,
        ledger.rows_quarantined as quarantined,
        coalesce(copy_kinds.new_events, 0) as new_events,
        coalesce(copy_kinds.duplicates_in_file, 0) as duplicates_in_file,
        coalesce(copy_kinds.duplicates_of_earlier, 0) as duplicates_of_earlier
    from {{ ledger }} as ledger
    left join copy_kinds
        on ledger.batch_id = copy_kinds.batch_id
        and ledger.source_file = copy_kinds.source_file
    where ledger.stream = '{{ stream }}'
{%- endmacro %}
