"""What feedback adds to the client card (customers.card): open complaint cases and planned
follow-up calls in a panel, a warning figure while a case is open, and the desk's actions
"Log a complaint…" and "Plan a follow-up call…", read in the card's statement (customers.card)."""

from django.db.models import OuterRef
from django.urls import reverse
from django.utils.translation import gettext as _

from customers import card
from customers.card import CardAction, CardFact, CardPanel
from feedback import selectors, services
from feedback.models import Complaint, FollowUp
from salon_crm.rows import build_all, obj, rows


def card_reads(*, user, now) -> dict:
    """The client's open cases (soonest due first) and planned calls (soonest first), five each,
    as this user may see them."""
    reads = {}
    if user.has_perm("feedback.view_complaint"):
        reads["cases"] = rows(
            selectors.open_cases(user).filter(customer=OuterRef("pk"))[:5],
            id="pk",
            category="category",
            status="status",
            due_at="due_at",
            location=obj(id="location_id", time_zone="location__time_zone"),
        )
    if user.has_perm("feedback.view_followup"):
        reads["calls"] = rows(
            selectors.follow_ups_for(user)
            .filter(customer=OuterRef("pk"), status=FollowUp.Status.OPEN)
            .order_by("due_on")[:5],
            id="pk",
            due_on="due_on",
            purpose="purpose",
            assignee=obj(id="assignee_id", display_name="assignee__display_name"),
        )
    return reads


def card_panel(*, customer, user, now, data: dict) -> CardPanel | None:
    if not (user.has_perm("feedback.view_complaint") or user.has_perm("feedback.view_followup")):
        return None
    cases = build_all(Complaint, data.get("cases"))
    calls = build_all(FollowUp, data.get("calls"))
    for c in cases:
        c.sla = services.sla_state(c)
    facts = ()
    if cases:
        facts = (
            CardFact(
                "complaints",
                _("Open complaints"),
                str(len(cases)),
                _("C-%(n)s due %(due)s")
                % {
                    "n": cases[0].pk,
                    "due": cases[0].due_at.astimezone(cases[0].location.tz).strftime("%Y-%m-%d %H:%M"),
                },
                tone="warning",
            ),
        )
    actions = []
    if customer.erased_at is None:
        if user.has_perm("feedback.add_complaint"):
            actions.append(
                CardAction(
                    "complaint_new",
                    _("Log a complaint…"),
                    reverse("feedback:complaint_new_for", args=[customer.pk]),
                    dialog=True,
                )
            )
        if user.has_perm("feedback.add_followup"):
            actions.append(
                CardAction(
                    "follow_up_new",
                    _("Plan a follow-up call…"),
                    reverse("feedback:follow_up_new", args=[customer.pk]),
                    dialog=True,
                )
            )
    if not (cases or calls or actions):
        return None
    return CardPanel(
        key="feedback",
        title=_("Complaints and follow-up calls"),
        facts=facts,
        actions=tuple(actions),
        template="feedback/card_panel.html",
        data={"cases": cases, "calls": calls},
        order=70,
    )


def register() -> None:
    card.register("feedback", card_panel, reads=card_reads)
