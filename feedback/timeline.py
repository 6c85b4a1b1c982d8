"""feedback on the client card's history timeline: answered surveys, complaint cases and
follow-up calls, each source one query of at most `limit` rows, scoped to what the user may
see (a stylist: their own)."""

from django.urls import reverse
from django.utils.translation import gettext as _

from customers.timeline import TimelineEvent, register
from feedback import selectors
from feedback.models import FollowUp


def _cut(text: str, n: int = 120) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def survey_events(*, customer, user, limit: int) -> list[TimelineEvent]:
    if not user.has_perm("feedback.view_survey"):
        return []
    rows = selectors.answered(selectors.surveys_for(user).filter(customer=customer)).order_by("-answered_at")[
        :limit
    ]
    events = []
    for s in rows:
        parts = [_("satisfaction %(n)s/5") % {"n": s.csat}] if s.csat is not None else []
        if s.nps is not None:
            parts.append(_("recommend %(n)s/10") % {"n": s.nps})
        if s.stylist_rating is not None:
            parts.append(_("stylist %(n)s/5") % {"n": s.stylist_rating})
        events.append(
            TimelineEvent(
                at=s.answered_at,
                kind="survey",
                title=_("Survey answered: %(scores)s") % {"scores": ", ".join(parts)},
                detail=_cut(s.comment),
            )
        )
    return events


def complaint_events(*, customer, user, limit: int) -> list[TimelineEvent]:
    if not user.has_perm("feedback.view_complaint"):
        return []
    rows = selectors.complaints_for(user).filter(customer=customer).order_by("-opened_at")[:limit]
    return [
        TimelineEvent(
            at=c.opened_at,
            kind="complaint",
            title=_("Complaint C-%(n)s (%(category)s): %(status)s")
            % {"n": c.pk, "category": c.get_category_display(), "status": c.get_status_display()},
            detail=_cut(c.description),
            url=reverse("feedback:complaint", args=[c.pk]),
        )
        for c in rows
    ]


def follow_up_events(*, customer, user, limit: int) -> list[TimelineEvent]:
    if not user.has_perm("feedback.view_followup"):
        return []
    rows = (
        selectors.follow_ups_for(user)
        .filter(customer=customer, status=FollowUp.Status.DONE)
        .order_by("-done_at")[:limit]
    )
    return [
        TimelineEvent(
            at=f.done_at,
            kind="follow_up",
            title=_("Follow-up call: %(outcome)s") % {"outcome": f.get_outcome_display()},
            detail=_cut(f.purpose),
        )
        for f in rows
    ]


def register_sources() -> None:
    register("surveys", survey_events)
    register("complaints", complaint_events)
    register("follow_ups", follow_up_events)
