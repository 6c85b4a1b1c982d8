"""Reads shared by feedback's pages, API and panels, scoped to who asks: managers and the desk
see their locations; a stylist only their own cases (involved or owning), their own surveys and
their own follow-up calls."""

from datetime import date

from django.db.models import Avg, Count, Exists, OuterRef, Q, QuerySet

from accounts.access import locations_for, role_of, staff_of
from accounts.models import Role
from appointments.models import Visit, VisitLine
from feedback.models import Complaint, FollowUp, Survey


def is_stylist(user) -> bool:
    return role_of(user) == Role.STYLIST


def complaints_for(user) -> QuerySet[Complaint]:
    qs = Complaint.objects.select_related("customer", "location", "owner__staff").filter(
        location__in=locations_for(user)
    )
    if is_stylist(user):
        staff = staff_of(user)
        qs = qs.filter(
            Q(owner=user)
            | Q(
                pk__in=Complaint.staff_involved.through.objects.filter(
                    staffmember_id=getattr(staff, "pk", None)
                ).values("complaint_id")
            )
        )
    return qs


def follow_ups_for(user) -> QuerySet[FollowUp]:
    qs = FollowUp.objects.select_related("customer", "location", "assignee", "service").filter(
        location__in=locations_for(user)
    )
    if is_stylist(user):
        qs = qs.filter(assignee=staff_of(user))
    return qs


def surveys_for(user) -> QuerySet[Survey]:
    qs = Survey.objects.select_related("customer", "location", "staff", "complaint").filter(
        location__in=locations_for(user)
    )
    if is_stylist(user):
        qs = qs.filter(staff=staff_of(user))
    return qs


def answered(qs: QuerySet[Survey]) -> QuerySet[Survey]:
    return qs.filter(answered_at__isnull=False)


SENT = ("sent", "delivered")


def _aggregates(p: str = "") -> dict:
    """The counts behind METRICS.md's csat, nps and response rate, over surveys reached by the
    path `p` ("" for surveys, "visit__survey__" from visit lines). Counted distinct, so a visit
    with two lines of one service counts once."""
    ans = Q(**{f"{p}answered_at__isnull": False})
    return {
        "sent": Count(f"{p}pk", filter=ans | Q(**{f"{p}message__status__in": SENT}), distinct=True),
        "answered": Count(f"{p}pk", filter=ans, distinct=True),
        "csat_n": Count(f"{p}pk", filter=ans & Q(**{f"{p}csat__isnull": False}), distinct=True),
        "csat_good": Count(f"{p}pk", filter=ans & Q(**{f"{p}csat__gte": 4}), distinct=True),
        "nps_n": Count(f"{p}pk", filter=ans & Q(**{f"{p}nps__isnull": False}), distinct=True),
        "promoters": Count(f"{p}pk", filter=ans & Q(**{f"{p}nps__gte": 9}), distinct=True),
        "detractors": Count(f"{p}pk", filter=ans & Q(**{f"{p}nps__lte": 6}), distinct=True),
        "stylist_avg": Avg(f"{p}stylist_rating", filter=ans),
    }


def _rates(row: dict) -> dict:
    """METRICS.md: csat = share of 1–5 answers scoring 4 or 5 (4 decimals); nps = % 9–10 minus
    % 0–6 (one decimal); response rate = answered / sent (a survey is sent when its message went
    out, or when it was answered); None where the denominator is 0."""
    csat = round(row["csat_good"] / row["csat_n"], 4) if row["csat_n"] else None
    nps = round(100 * (row["promoters"] - row["detractors"]) / row["nps_n"], 1) if row["nps_n"] else None
    rate = round(row["answered"] / row["sent"], 4) if row["sent"] else None
    avg = row.get("stylist_avg")
    return {
        **row,
        "csat": csat,
        "nps": nps,
        "response_rate": rate,
        "stylist_avg": round(float(avg), 2) if avg is not None else None,
    }


def counted(qs: QuerySet[Survey]) -> QuerySet[Survey]:
    """The surveys the figures count: those of visits that count (appointments.selectors.
    visits_counted: completed, not voided). A voided visit's survey, even one answered before
    the void, counts for nothing, as the visit does."""
    return qs.filter(visit__status=Visit.Status.COMPLETED)


def score_summary(qs: QuerySet[Survey]) -> dict:
    """The whole selection's figures: one query."""
    return _rates(counted(qs).aggregate(**_aggregates()))


def results_by_stylist(qs: QuerySet[Survey]) -> list[dict]:
    """One row per stylist rated (the first service line's): one query."""
    rows = (
        counted(qs)
        .values("staff_id", "staff__display_name")
        .annotate(**_aggregates())
        .order_by("staff__display_name")
    )
    return [_rates(dict(r)) for r in rows]


def results_by_service(qs: QuerySet[Survey]) -> list[dict]:
    """One row per service: a survey counts once for each service done in its visit. One query
    over the visit lines, one line per (visit, service): a visit with two lines of one service
    counts once, in the averages too."""
    earlier_same_service = VisitLine.objects.filter(
        visit=OuterRef("visit"), service=OuterRef("service"), pk__lt=OuterRef("pk")
    )
    rows = (
        VisitLine.objects.filter(service__isnull=False, visit__survey__in=counted(qs).values("pk"))
        .filter(~Exists(earlier_same_service))
        .values("service_id", "service__name")
        .annotate(**_aggregates("visit__survey__"))
        .order_by("service__name")
    )
    return [_rates(dict(r)) for r in rows]


def follow_ups_due(user, *, location, day: date, mine: bool = True) -> QuerySet[FollowUp]:
    """Open calls due on or before `day` at `location` ("my follow-ups today" with `mine`)."""
    qs = follow_ups_for(user).filter(location=location, status=FollowUp.Status.OPEN, due_on__lte=day)
    if mine:
        qs = qs.filter(assignee=staff_of(user))
    return qs.order_by("due_on", "pk")


def open_cases(user, *, location=None) -> QuerySet[Complaint]:
    qs = complaints_for(user).filter(status__in=(Complaint.Status.OPEN, Complaint.Status.IN_PROGRESS))
    if location is not None:
        qs = qs.filter(location=location)
    return qs.order_by("due_at")


def has_open_complaint(customer_ids) -> set[int]:
    return set(
        Complaint.objects.filter(
            customer_id__in=customer_ids, status__in=("open", "in_progress")
        ).values_list("customer_id", flat=True)
    )
