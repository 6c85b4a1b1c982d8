"""RFM segments and the seeds' client classes (docs/metrics.md, "RFM and client classes"), from
a client's CustomerMetrics row (rebuilt by compute_analytics)."""

from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext_lazy as _

# (key, label, rule on the recency and frequency scores), the first that matches wins
SEGMENTS = (
    ("champions", _("Champions"), lambda r, f: r >= 4 and f >= 4),
    ("loyal", _("Loyal"), lambda r, f: r >= 2 and f >= 3),
    ("promising", _("New and promising"), lambda r, f: r >= 4),
    ("at_risk", _("At risk"), lambda r, f: r <= 2 and f >= 3),
    ("hibernating", _("Hibernating"), lambda r, f: r <= 2),
    ("attention", _("Needs attention"), lambda r, f: True),
)
VALUE = {"vip": _("VIP"), "regular": _("Regular"), "potential": _("Potential")}
FREQUENCY = {"high": _("High frequency"), "low": _("Low frequency")}
SPENDING = {"high": _("High spending"), "medium": _("Medium spending"), "low": _("Low spending")}


@dataclass(frozen=True)
class ClientClass:
    segment: str
    segment_label: str
    value: str
    frequency: str
    spending: str
    scores: tuple[int, int, int]

    @property
    def labels(self) -> list[str]:
        return [str(VALUE[self.value]), str(FREQUENCY[self.frequency]), str(SPENDING[self.spending])]


def segment_of(recency: int, frequency: int) -> tuple[str, str]:
    for key, label, rule in SEGMENTS:
        if rule(recency, frequency):
            return key, str(label)
    raise AssertionError("the last rule always matches")


def classify(metrics) -> ClientClass | None:
    """The client's classes, or None for a client with no visit (potential, no scores)."""
    if metrics is None or not metrics.recency_score:
        return None
    r, f, m = metrics.recency_score, metrics.frequency_score, metrics.monetary_score
    key, label = segment_of(r, f)
    return ClientClass(
        segment=key,
        segment_label=label,
        value="vip" if m == 5 else "regular",
        frequency="high" if metrics.visits_12m >= settings.ANALYTICS_HIGH_FREQUENCY_VISITS else "low",
        spending="high" if m >= 4 else ("medium" if m >= 2 else "low"),
        scores=(r, f, m),
    )
