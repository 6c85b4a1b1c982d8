"""What analytics adds to the client card: the client's RFM segment and the seeds' classes
(VIP / regular / potential, frequency, spending level) as of the last roll-up, and the churn
model's chance that they are still a client (flagged below the at-risk setting), read in the
card's statement (customers.card)."""

from django.db.models import OuterRef
from django.utils.translation import gettext as _

from analytics.at_risk import threshold
from analytics.models import ChurnScore, CustomerMetrics
from analytics.segments import VALUE, classify
from customers import card
from customers.card import CardFact, CardPanel
from salon_crm.rows import build, row


def card_reads(*, user, now) -> dict:
    if not user.has_perm("customers.view_customer"):
        return {}
    return {
        "metrics": row(
            CustomerMetrics.objects.filter(customer=OuterRef("pk")),
            customer="customer_id",
            recency_score="recency_score",
            frequency_score="frequency_score",
            monetary_score="monetary_score",
            visits_12m="visits_12m",
            as_of="as_of",
        ),
        "churn": row(
            ChurnScore.objects.filter(customer=OuterRef("pk")),
            id="pk",
            p_alive="p_alive",
            clv_365d="clv_365d",
            as_of="as_of",
        ),
    }


def card_panel(*, customer, user, now, data: dict) -> CardPanel | None:
    if not user.has_perm("customers.view_customer"):
        return None
    metrics = build(CustomerMetrics, data["metrics"])
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
    facts = [fact]
    score = build(ChurnScore, data["churn"]) if metrics is not None else None
    if score is not None:
        risky = score.p_alive < threshold()
        detail = _("as of %(day)s") % {"day": score.as_of.isoformat()}
        if score.clv_365d is not None:
            detail = _("expected 365-day value %(value)s · as of %(day)s") % {
                "value": f"{score.clv_365d:,.0f}",
                "day": score.as_of.isoformat(),
            }
        facts.append(
            CardFact(
                "p_alive",
                _("Chance still a client"),
                f"{round(score.p_alive * 100)}%" + (" · " + _("at risk") if risky else ""),
                detail,
                tone="warning" if risky else "",
            )
        )
    return CardPanel(key="analytics", facts=tuple(facts), order=80)


def register() -> None:
    card.register("analytics", card_panel, reads=card_reads)
