from django import template
from django.utils.formats import number_format

register = template.Library()


@register.filter
def percent(value) -> str:
    """0.8333 → "83.3%" (METRICS.md keeps 4 decimals; people read one); None → "—"."""
    if value is None or value == "":
        return "—"
    return f"{number_format(round(float(value) * 100, 1), 1)}%"
