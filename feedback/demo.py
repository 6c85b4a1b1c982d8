"""seed_demo's feedback (runs after loyalty's): every demo visit of the last 14 days gets its
survey and its follow-up calls through the real services, as a checkout would have planned them;
about two in three of the older ones are answered (a deterministic mix, a few low scores that
open complaint cases by themselves); the desk logs one complaint by phone; one case is worked to
resolved with a coupon, one is in progress. Idempotent: skipped once a demo survey is answered."""

import random
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from accounts.models import Role, StaffMember
from appointments.demo import MARKER as VISIT_MARKER
from appointments.models import Visit
from feedback import services
from feedback.models import Complaint, FollowUp, Survey

COMMENTS = [
    "",
    "",
    "很满意，下次还来 Very happy, will come again",
    "Kevin 剪得很好 Great cut",
    "",
    "环境很舒服 Lovely place",
]
LOW_COMMENTS = [
    "等了四十分钟才开始 Waited 40 minutes before anyone started",
    "颜色和说好的不一样 The colour is not what we agreed",
]


def seed_feedback(ctx) -> None:
    if Survey.objects.filter(visit__external_id__startswith=VISIT_MARKER, answered_at__isnull=False).exists():
        ctx.log("feedback: demo surveys already answered")
        return
    now = timezone.now()
    visits = list(
        Visit.objects.filter(
            external_id__startswith=VISIT_MARKER,
            status=Visit.Status.COMPLETED,
            completed_at__gte=now - timedelta(days=14),
            completed_at__lte=now,
        )
        .select_related("customer", "location")
        .prefetch_related("lines__service", "lines__staff")
        .order_by("completed_at", "pk")
    )
    rng = random.Random(12)
    surveys = calls = answered = 0
    for visit in visits:
        survey = services.survey_plan(visit=visit)
        surveys += survey is not None
        calls += len(services.follow_ups_plan(visit=visit))
        if survey is None or visit.completed_at > now - timedelta(days=1) or rng.random() > 0.66:
            continue
        low = rng.random() < 0.08 or answered == 3  # at least one low score, whatever the day
        csat = rng.choice([1, 2]) if low else rng.choice([4, 5, 5, 5, 3])
        nps = rng.choice([2, 4, 5]) if low else rng.choice([8, 9, 10, 10, 7])
        services.survey_answer(
            survey=survey,
            csat=csat,
            nps=nps,
            stylist_rating=None if rng.random() < 0.3 else min(5, csat + rng.choice([0, 0, 1])),
            comment=rng.choice(LOW_COMMENTS) if low else rng.choice(COMMENTS),
            tags=["waiting"] if low and rng.random() < 0.5 else (["skill"] if low else []),
            now=visit.completed_at + timedelta(hours=rng.randint(3, 30)),
        )
        answered += 1
    desk = (
        StaffMember.objects.filter(role=Role.RECEPTIONIST, user__username="reception")
        .select_related("user")
        .first()
    )
    manager = (
        StaffMember.objects.filter(role=Role.MANAGER, user__username="manager").select_related("user").first()
    )
    home = set(desk.locations.values_list("pk", flat=True)) if desk else set()
    recent = next((v for v in reversed(visits) if v.location_id in home), None)
    if desk and recent is not None and not Complaint.objects.filter(source=Complaint.Source.PHONE).exists():
        services.complaint_open(
            customer=recent.customer,
            location=recent.location,
            category=Complaint.Category.BOOKING,
            severity=Complaint.Severity.LOW,
            source=Complaint.Source.PHONE,
            description="预约时间被改了没人通知 Her booking was moved and nobody told her.",
            by=desk.user,
        )
    cases = list(
        Complaint.objects.filter(
            status=Complaint.Status.OPEN, location__in=manager.locations.all() if manager else []
        ).order_by("opened_at")
    )
    if manager and cases:
        first = cases[0]
        services.complaint_set_status(
            complaint=first, status="in_progress", by=manager.user, note="已致电客户 Called her."
        )
        try:
            services.complaint_compensate(complaint=first, by=manager.user, kind="coupon", value="100")
        except Exception as exc:  # a demo without loyalty's permissions still seeds the rest
            ctx.log(f"feedback: no compensation ({exc})")
        services.complaint_set_status(
            complaint=first,
            status="resolved",
            by=manager.user,
            resolution="免费重做并赠送 100 元券 Redone free of charge, with a 100 coupon.",
        )
        if len(cases) > 1:
            services.complaint_set_status(complaint=cases[1], status="in_progress", by=manager.user)
    # the calls of more than two days ago were made: most clients happy, a few not reached
    made = 0
    for call in FollowUp.objects.filter(
        status=FollowUp.Status.OPEN, due_on__lt=timezone.localdate() - timedelta(days=2)
    ).select_related("assignee__user", "location", "customer"):
        if call.assignee is None:
            continue
        outcome = rng.choice(["happy", "happy", "happy", "reached", "no_answer"])
        services.follow_up_record(
            follow_up=call,
            outcome=outcome,
            by=call.assignee.user,
            note="" if outcome != "happy" else "满意 Happy",
        )
        made += 1
    open_calls = FollowUp.objects.filter(status=FollowUp.Status.OPEN)
    ctx.log(
        f"feedback: {surveys} surveys ({answered} answered), {Complaint.objects.count()} complaints, "
        f"{calls} follow-up calls planned, {made} made, {open_calls.count()} open "
        f"({open_calls.filter(Q(due_on__lte=timezone.localdate())).count()} due by today)"
    )
