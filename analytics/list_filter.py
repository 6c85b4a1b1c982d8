"""The client list's filter by RFM segment and the seeds' classes (/customers/?class=...),
registered into customers.list_filters (customers may not import analytics).

Each choice is a condition on the client's CustomerMetrics row (the last roll-up), the same rules
as analytics.segments.classify, so the list and the card agree: a segment is a set of
(recency, frequency) score pairs taken from segment_of itself, not restated."""

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from analytics.models import CustomerMetrics
from analytics.segments import FREQUENCY, SEGMENTS, SPENDING, VALUE, segment_of
from customers import list_filters

KEY = "class"
SCORES = range(1, 6)
SCORED = Q(metrics__recency_score__gte=1)  # a client with a visit, scored by the last roll-up


def _segment(key: str) -> Q:
    q = Q()
    for r in SCORES:
        fs = [f for f in SCORES if segment_of(r, f)[0] == key]
        if fs:
            q |= Q(metrics__recency_score=r, metrics__frequency_score__in=fs)
    return q


def conditions() -> dict:
    high = settings.ANALYTICS_HIGH_FREQUENCY_VISITS
    return {
        **{f"segment-{key}": _segment(key) for key, _label, _rule in SEGMENTS},
        "value-vip": SCORED & Q(metrics__monetary_score=5),
        "value-regular": SCORED & Q(metrics__monetary_score__lt=5),
        # no scored figures: an anti-join (the planner misjudges a LEFT JOIN ... IS NULL OR)
        "value-potential": ~Exists(
            CustomerMetrics.objects.filter(customer=OuterRef("pk"), recency_score__gte=1)
        ),
        "frequency-high": SCORED & Q(metrics__visits_12m__gte=high),
        "frequency-low": SCORED & Q(metrics__visits_12m__lt=high),
        "spending-high": SCORED & Q(metrics__monetary_score__gte=4),
        "spending-medium": SCORED & Q(metrics__monetary_score__in=(2, 3)),
        "spending-low": SCORED & Q(metrics__monetary_score=1),
    }


def choices() -> list_filters.Choices:
    return [
        (str(_("RFM segment")), [(f"segment-{key}", str(label)) for key, label, _rule in SEGMENTS]),
        (
            str(pgettext_lazy("client class", "Value")),
            [(f"value-{key}", str(label)) for key, label in VALUE.items()],
        ),
        (str(_("Visit frequency")), [(f"frequency-{key}", str(label)) for key, label in FREQUENCY.items()]),
        (str(_("Spending level")), [(f"spending-{key}", str(label)) for key, label in SPENDING.items()]),
    ]


def apply(qs: QuerySet, value: str) -> QuerySet:
    return qs.filter(conditions()[value])


def register() -> None:
    list_filters.register(
        list_filters.ListFilter(
            key=KEY,
            label=_("Client class"),
            all_label=_("All classes and segments"),
            choices=choices,
            apply=apply,
            order=50,
        )
    )
