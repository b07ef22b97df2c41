{#- No hole in a producer's sequence (per epoch, from `start`) across the published
    facts and the batch about to be published: a batch that would publish past a missing
    event waits until the event arrives. -#}
{% test no_sequence_holes(model, writes, publications, producer, sequence, start, epoch=none) %}
    {%- set published = onceonly.published_facts(writes, publications) -%}
    {%- set epoch_expr = epoch or '0' -%}
    with candidate as (
        select {{ producer }} as producer, {{ epoch_expr }} as epoch, {{ sequence }} as number
        from {{ model }}
        {%- if published is not none %}
        union all
        select {{ producer }}, {{ epoch_expr }}, {{ sequence }} from {{ published }} as published
        {%- endif %}
    ),
    ordered as (
        select producer, epoch, number,
            coalesce(lag(number) over (partition by producer, epoch order by number),
                {{ start - 1 }}) as previous_number
        from candidate
    )
    select producer, epoch, previous_number + 1 as first_missing, number - 1 as last_missing
    from ordered
    where number > previous_number + 1
{% endtest %}
