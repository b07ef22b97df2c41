{#- Each value of `column_name` once among the rows whose `date_column` lies within `days`
    days before the newest arrival (`arrived_at`): what the run's windowed dedup promises.
    The bound is a literal read when the test compiles, so the scan skips what lies before
    the window (zone maps, partitions) and the cost follows the window, not the history.
    A duplicate of an event older than the window is a late duplicate: counted by the dq
    models every run and removed by the full audit (onceonly reconcile --full). -#}
{% test unique_within_window(model, column_name, days, date_column='_event_date', arrived_at='_arrived_at') %}
    select {{ column_name }} as unique_field, count(*) as n_records
    from {{ model }}
    where {{ date_column }} >= {{ onceonly.days_before(
        'cast(' ~ onceonly.watermark(arrived_at, model) ~ ' as date)', days) }}
    group by {{ column_name }}
    having count(*) > 1
{% endtest %}
