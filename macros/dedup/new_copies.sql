{#- The batch of an incremental run: copies landed after the newest one this model has
    already taken in. A re-run with nothing new selects nothing. -#}
{% macro new_copies(relation, watermark_column='_loaded_at') -%}
    select * from {{ relation }}
    {% if is_incremental() %}
    where _loaded_at > (
        select coalesce(max({{ watermark_column }}), {{ onceonly.timestamp_floor() }})
        from {{ this }}
    )
    {% endif %}
{%- endmacro %}
