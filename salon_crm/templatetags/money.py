"""{% load money %}: {% currency_symbol %} ('¥') and {% currency_code %} ('CNY') of the
deployment's currency (salon_crm.money), for amount fields and totals."""

from django import template

from salon_crm import money

register = template.Library()


@register.simple_tag
def currency_symbol() -> str:
    return money.currency_symbol()


@register.simple_tag
def currency_code() -> str:
    return money.currency_code()
