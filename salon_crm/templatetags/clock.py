"""{% load clock %}: the project's day labels (salon_crm.dates), in the active language and the
current time zone (the location's, in its pages).

    {{ day|day_label }}      Fri 2026-12-04 / 12月4日 周五
    {{ day|weekday_short }}  Fri / 周五

Plain dates are `|date:"Y-m-d"` and times `|time:"H:i"` (or DATE_FORMAT / TIME_FORMAT, which
salon_crm.formats sets to the same)."""

from django import template

from salon_crm import dates

register = template.Library()


@register.filter
def day_label(value) -> str:
    return dates.day_label(value) if value else ""


@register.filter
def weekday_short(value) -> str:
    return dates.weekday_short(value) if value else ""
