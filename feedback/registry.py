"""feedback's places in the lower apps' registries (from FeedbackConfig.ready()): its part of
merging two clients, of a client's data export and of an erasure (customers.services)."""

from django.utils import timezone

from customers.services import (
    MergeHandler,
    customer_rows_count,
    reassign_customer_rows,
    register_erase_hook,
    register_export_section,
    register_merge_handler,
    relation_label,
)
from feedback.models import Complaint, ComplaintAction, FollowUp, Survey

CUSTOMER_ROWS = ((Survey, "customer"), (Complaint, "customer"), (FollowUp, "customer"))


def _merge_preview(*, keep, merge) -> dict[str, int]:
    return {relation_label(m, f): customer_rows_count(m, f, customer=merge) for m, f in CUSTOMER_ROWS}


def _merge(*, keep, merge, by) -> dict[str, int]:
    return {
        relation_label(m, f): reassign_customer_rows(m, f, keep=keep, merge=merge) for m, f in CUSTOMER_ROWS
    }


MERGE_HANDLER = MergeHandler("feedback", preview=_merge_preview, merge=_merge)


def _export(customer) -> dict:
    """The client's survey answers, complaint cases and follow-up calls."""
    return {
        "surveys": [
            {
                "visit": s.visit_id,
                "answered_at": s.answered_at,
                "csat": s.csat,
                "nps": s.nps,
                "stylist_rating": s.stylist_rating,
                "tags": s.tags,
                "comment": s.comment,
            }
            for s in Survey.objects.filter(customer=customer, answered_at__isnull=False).order_by("pk")
        ],
        "complaints": [
            {
                "case": f"C-{c.pk}",
                "opened_at": c.opened_at,
                "category": c.category,
                "status": c.status,
                "description": c.description,
                "resolution": c.resolution,
                "compensation": c.compensation,
                "compensation_value": c.compensation_value,
                # the case's timeline: staff's notes about the client (erasure blanks them too)
                "actions": [
                    {"at": a.at, "kind": a.kind, "status": a.status, "note": a.note} for a in c.actions.all()
                ],
            }
            for c in Complaint.objects.filter(customer=customer).prefetch_related("actions").order_by("pk")
        ],
        "follow_ups": [
            {
                "due_on": f.due_on,
                "status": f.status,
                "outcome": f.outcome,
                "purpose": f.purpose,
                "note": f.note,  # what the client said on the call
            }
            for f in FollowUp.objects.filter(customer=customer).order_by("pk")
        ],
    }


def _erase(customer) -> None:
    """The client's own words and what staff wrote about them go; the scores and the cases'
    dates and categories stay (they count in the figures, as visits do)."""
    Survey.objects.filter(customer=customer).update(comment="")
    # an unanswered survey's link stops taking answers (no new words from an erased client)
    Survey.objects.filter(customer=customer, answered_at__isnull=True, withdrawn_at__isnull=True).update(
        withdrawn_at=timezone.now()
    )
    cases = Complaint.objects.filter(customer=customer)
    cases.update(description="", resolution="")
    ComplaintAction.objects.filter(complaint__in=cases).update(note="")
    FollowUp.objects.filter(customer=customer).update(note="", purpose="")
    FollowUp.objects.filter(customer=customer, status=FollowUp.Status.OPEN).update(
        status=FollowUp.Status.CANCELLED
    )


def register() -> None:
    register_merge_handler(MERGE_HANDLER)
    register_export_section("feedback", _export)
    register_erase_hook("feedback", _erase)
