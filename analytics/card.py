"""What analytics adds to the client card: the client's RFM segment and the seeds' classes
(VIP / regular / potential, frequency, spending level) as of the last roll-up. One query."""

from django.utils.translation import gettext as _

from analytics.models import CustomerMetrics
from analytics.segments import VALUE, classify
from customers import card
from customers.card import CardFact, CardPanel


def card_panel(*, customer, user) -> CardPanel | None:
    if not user.has_perm("customers.view_customer"):
        return None
    metrics = CustomerMetrics.objects.filter(customer=customer).first()
    found = classify(metrics)
    if found is None:
        fact = CardFact("client_class", _("Client class"), str(VALUE["potential"]), _("no visit yet"))
    else:
        r, f, m = found.scores
        fact = CardFact(
            "client_class",
            _("Client class"),
            " · ".join(found.labels[:1]) + f" · {found.segment_label}",
            _("%(classes)s · R%(r)s F%(f)s M%(m)s (as of %(day)s)")
            % {
                "classes": " · ".join(found.labels[1:]),
                "r": r,
                "f": f,
                "m": m,
                "day": metrics.as_of.isoformat(),
            },
        )
    return CardPanel(key="analytics", facts=(fact,), order=80)


def register() -> None:
    card.register("analytics", card_panel)
