{#- The events daily revenue counts: placed, captured and refunded, with a product. -#}
{% macro revenue_event(relation_alias=none) -%}
    {%- set p = relation_alias ~ '.' if relation_alias else '' -%}
    {{ p }}event_type in ('order_placed', 'payment_captured', 'order_refunded')
    and {{ p }}product_id is not null
{%- endmacro %}
