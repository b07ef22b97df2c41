{#- The batch of an incremental run: rows landed after the newest one this model has
    already taken in (`watermark_column` of `this`). A re-run with nothing new selects
    nothing; a first or full-refresh run selects everything. -#}
{% macro new_copies(relation, watermark_column='_loaded_at') -%}
    select * from {{ relation }}
    {% if is_incremental() %}
    where _loaded_at > (
        select coalesce(max({{ watermark_column }}), {{ onceonly.timestamp_floor() }})
        from {{ this }}
    )
    {% endif %}
{%- endmacro %}
