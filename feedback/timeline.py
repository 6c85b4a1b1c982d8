"""feedback on the client card's history timeline: answered surveys, complaint cases and
follow-up calls, each at most `limit` rows read in the card's statement (customers.timeline),
scoped to what the user may see (a stylist: their own)."""

from django.db.models import OuterRef
from django.urls import reverse
from django.utils.translation import gettext as _

from customers.timeline import TimelineEvent, register
from feedback import selectors
from feedback.models import Complaint, FollowUp, Survey
from salon_crm.rows import build_all, rows


def _cut(text: str, n: int = 120) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def survey_reads(*, user, limit: int) -> dict:
    if not user.has_perm("feedback.view_survey"):
        return {}
    answered = selectors.answered(selectors.surveys_for(user).filter(customer=OuterRef("pk")))
    return {
        "surveys": rows(
            answered.order_by("-answered_at")[:limit],
            id="pk",
            answered_at="answered_at",
            csat="csat",
            nps="nps",
            stylist_rating="stylist_rating",
            comment="comment",
        )
    }


def survey_events(*, customer, user, limit: int, data: dict) -> list[TimelineEvent]:
    events = []
    for s in build_all(Survey, data.get("surveys")):
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


def complaint_reads(*, user, limit: int) -> dict:
    if not user.has_perm("feedback.view_complaint"):
        return {}
    return {
        "complaints": rows(
            selectors.complaints_for(user).filter(customer=OuterRef("pk")).order_by("-opened_at")[:limit],
            id="pk",
            opened_at="opened_at",
            category="category",
            status="status",
            description="description",
        )
    }


def complaint_events(*, customer, user, limit: int, data: dict) -> list[TimelineEvent]:
    return [
        TimelineEvent(
            at=c.opened_at,
            kind="complaint",
            title=_("Complaint C-%(n)s (%(category)s): %(status)s")
            % {"n": c.pk, "category": c.get_category_display(), "status": c.get_status_display()},
            detail=_cut(c.description),
            url=reverse("feedback:complaint", args=[c.pk]),
        )
        for c in build_all(Complaint, data.get("complaints"))
    ]


def follow_up_reads(*, user, limit: int) -> dict:
    if not user.has_perm("feedback.view_followup"):
        return {}
    done = selectors.follow_ups_for(user).filter(customer=OuterRef("pk"), status=FollowUp.Status.DONE)
    return {
        "follow_ups": rows(
            done.order_by("-done_at")[:limit],
            id="pk",
            done_at="done_at",
            outcome="outcome",
            purpose="purpose",
        )
    }


def follow_up_events(*, customer, user, limit: int, data: dict) -> list[TimelineEvent]:
    return [
        TimelineEvent(
            at=f.done_at,
            kind="follow_up",
            title=_("Follow-up call: %(outcome)s") % {"outcome": f.get_outcome_display()},
            detail=_cut(f.purpose),
        )
        for f in build_all(FollowUp, data.get("follow_ups"))
    ]


def register_sources() -> None:
    register("surveys", survey_events, reads=survey_reads)
    register("complaints", complaint_events, reads=complaint_reads)
    register("follow_ups", follow_up_events, reads=follow_up_reads)
