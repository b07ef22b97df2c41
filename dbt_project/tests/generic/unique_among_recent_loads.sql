{#- Each value of `column_name` loaded in the last `days` days of loads (by `loaded_at`,
    counted back from the newest load) is held once in the whole table. Every run checks
    what it added, and a key's older rows are probed through the recent keys, so the cost
    follows the batch, not the history; the scheduled full audit (onceonly reconcile
    --full) checks the whole table. -#}
{% test unique_among_recent_loads(model, column_name, days, loaded_at='_loaded_at') %}
    with recent as (
        select {{ column_name }} as recent_value from {{ model }}
        where {{ loaded_at }} >= {{ onceonly.timestamp_plus_days(
            '(select max(' ~ loaded_at ~ ') from ' ~ model ~ ')', -(days | int)) }}
    )
    select {{ column_name }} as unique_field, count(*) as n_records
    from {{ model }}
    where {{ column_name }} in (select recent_value from recent)
    group by {{ column_name }}
    having count(*) > 1
{% endtest %}
