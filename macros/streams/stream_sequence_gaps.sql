{#- Holes in each producer's sequence, per epoch: one row per missing range, including a
    missing start (sequences begin at `sequence_start`). Trailing losses cannot be seen.
    Output columns keep the producer's field names. `where` narrows `relation` (an
    exactly_once stream reads the first copy of every key that arrived, published or
    waiting: a key held or waiting is not lost). A number held twice (every copy of an
    at_least_once stream, or two keys with one number) needs no `distinct`: its second
    row's previous number is itself, which is never a hole, and its first row's is the
    number before it (a `distinct` over 10M facts doubled the model's time). -#}
{% macro stream_sequence_gaps(
    relation, producer, sequence, epoch=none, sequence_start=0, where=none
) -%}
    {%- set epoch_col = epoch if epoch else none -%}
    with numbered as (
        select {{ producer }}{% if epoch_col %}, {{ epoch_col }}{% endif %}, {{ sequence }}
        from {{ relation }}
        {%- if where %}
        where {{ where }}
        {%- endif %}
    ),
    with_previous as (
        select
            {{ producer }},
            {% if epoch_col %}{{ epoch_col }},{% endif %}
            {{ sequence }},
            coalesce(
                lag({{ sequence }}) over (
                    partition by {{ producer }}{% if epoch_col %}, {{ epoch_col }}{% endif %}
                    order by {{ sequence }}
                ),
                {{ sequence_start | int - 1 }}
            ) as previous_number
        from numbered
    )
    select
        {{ producer }},
        {% if epoch_col %}{{ epoch_col }},{% endif %}
        previous_number + 1 as first_missing,
        {{ sequence }} - 1 as last_missing,
        {{ sequence }} - previous_number - 1 as missing_count
    from with_previous
    where {{ sequence }} > previous_number + 1
{%- endmacro %}
