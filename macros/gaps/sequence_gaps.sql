{#- Holes in each producer's sequence, per epoch: one row per missing range, including a
    missing start (sequences begin at 0). Trailing losses cannot be seen. -#}
{% macro sequence_gaps(relation, producer='producer_id', epoch='producer_epoch', sequence='sequence_number') -%}
    with numbered as (
        select distinct {{ producer }} as producer_id, {{ epoch }} as producer_epoch,
            {{ sequence }} as sequence_number
        from {{ relation }}
    ),
    with_previous as (
        select
            producer_id,
            producer_epoch,
            sequence_number,
            coalesce(
                lag(sequence_number) over (
                    partition by producer_id, producer_epoch order by sequence_number
                ),
                -1
            ) as previous_number
        from numbered
    )
    select
        producer_id,
        producer_epoch,
        previous_number + 1 as first_missing,
        sequence_number - 1 as last_missing,
        sequence_number - previous_number - 1 as missing_count
    from with_previous
    where sequence_number > previous_number + 1
{%- endmacro %}
