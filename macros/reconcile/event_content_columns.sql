{#- The typed contract fields of an orders event: what "the same content" compares. -#}
{% macro event_content_columns() -%}
    {{ return([
        'event_type', 'occurred_at', 'producer_id', 'producer_epoch', 'sequence_number',
        'order_id', 'customer_id', 'product_id', 'quantity', 'amount', 'currency'
    ]) }}
{%- endmacro %}
