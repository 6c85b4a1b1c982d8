"""Every write of feedback: surveys (planned after a visit, answered once), complaint cases
(opened, worked, compensated through loyalty's ledgers, escalated when overdue) and follow-up
calls (回访). Keyword-only functions, each in a transaction; pages, API and tasks call these."""

import logging
import secrets
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import can_act_at, role_of, staff_of
from accounts.models import Location, Role, StaffMember
from appointments.models import Visit
from customers.models import Customer
from feedback.models import Complaint, ComplaintAction, FollowUp, Survey, Tag
from salon_crm.errors import Conflict
from salon_crm.validators import has_control_characters

logger = logging.getLogger(__name__)
SURVEY_SALT = "feedback.survey"
C = Complaint.Status
ACTIVE = (C.OPEN, C.IN_PROGRESS)
# status → the statuses a case may move to
TRANSITIONS = {
    C.OPEN: {C.IN_PROGRESS, C.RESOLVED},
    C.IN_PROGRESS: {C.RESOLVED},
    C.RESOLVED: {C.CLOSED, C.IN_PROGRESS},
    C.CLOSED: {C.IN_PROGRESS},
}


def _now() -> datetime:
    return timezone.now()


def _clean_text(value, field: str, *, max_length: int, required: bool = False, multiline: bool = True) -> str:
    text = (value or "").strip() if isinstance(value, str) or value is None else None
    if text is None:
        raise ValidationError({field: [_("Give text.")]})
    if has_control_characters(text, multiline=multiline):
        raise ValidationError({field: [_("Remove the control characters.")]})
    if len(text) > max_length:
        raise ValidationError(
            {field: [_("At most %(n)s characters (this has %(m)s).") % {"n": max_length, "m": len(text)}]}
        )
    if required and not text:
        raise ValidationError({field: [_("This field is required.")]})
    return text


# ---- surveys ----------------------------------------------------------------------------------


def survey_token(survey: Survey) -> str:
    """Signed (the secret key) over the survey's id and its random nonce: an id alone, or an
    edited token, is worth nothing."""
    return signing.Signer(salt=SURVEY_SALT).sign_object({"s": survey.pk, "n": survey.nonce})


def survey_link(survey: Survey) -> str:
    return settings.MESSAGING_PUBLIC_URL.rstrip("/") + reverse("feedback:survey", args=[survey_token(survey)])


def survey_from_token(token: str) -> Survey | None:
    """The survey a link names, or None for a forged, edited or unknown one."""
    try:
        data = signing.Signer(salt=SURVEY_SALT).unsign_object(token)
    except (signing.BadSignature, ValueError, TypeError, UnicodeError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("s"), int) or not isinstance(data.get("n"), str):
        return None
    survey = Survey.objects.select_related("location", "customer", "staff").filter(pk=data["s"]).first()
    if survey is None or not secrets.compare_digest(survey.nonce, data["n"]):
        return None
    return survey


def survey_state(survey: Survey, now: datetime | None = None) -> str:
    """'answered', 'withdrawn', 'expired' or 'open'."""
    now = now or _now()
    if survey.answered_at is not None:
        return "answered"
    if survey.withdrawn_at is not None:
        return "withdrawn"
    if now >= survey.expires_at:
        return "expired"
    return "open"


def _first_stylist(visit: Visit):
    for line in visit.lines.all():
        if line.service_id and line.staff_id:
            return line.staff
    return None


@transaction.atomic
def survey_plan(*, visit: Visit) -> Survey | None:
    """The survey of a completed visit, planned once (a second call answers the first):
    sent `FEEDBACK_SURVEY_DELAY_MINUTES` after checkout (the dispatcher holds it through quiet
    hours), its link valid `FEEDBACK_SURVEY_VALID_DAYS`. Every client gets the same survey:
    there is no gating on what we expect them to say."""
    if not settings.FEEDBACK_SURVEYS:
        return None
    existing = Survey.objects.filter(visit=visit).first()
    if existing is not None:
        return existing
    if visit.status != Visit.Status.COMPLETED or visit.customer.erased_at is not None:
        return None
    if not any(line.service_id for line in visit.lines.all()):
        return None  # a retail-only sale is not a service to rate
    now = _now()
    send_at = max(visit.completed_at or now, now) + timedelta(minutes=settings.FEEDBACK_SURVEY_DELAY_MINUTES)
    survey = Survey(
        visit=visit,
        customer=visit.customer,
        location=visit.location,
        staff=_first_stylist(visit),
        nonce=secrets.token_urlsafe(12),
        created_at=now,
        send_at=send_at,
        expires_at=send_at + timedelta(days=settings.FEEDBACK_SURVEY_VALID_DAYS),
    )
    try:
        with transaction.atomic():
            survey.save()
    except IntegrityError:  # planned at the same moment by another listener run
        return Survey.objects.get(visit=visit)
    from messaging.services import message_enqueue

    link = survey_link(survey)
    services = ", ".join(dict.fromkeys(line.description for line in visit.lines.all() if line.service_id))
    survey.message = message_enqueue(
        customer=visit.customer,
        kind="survey",
        key=f"visit:{visit.pk}:survey",
        context={"link": link, "services": services},
        when=send_at,
        location=visit.location,
        link=link,
    )
    survey.save(update_fields=["message"])
    return survey


@transaction.atomic
def survey_withdraw(*, visit_id: int) -> bool:
    """A voided visit's survey is withdrawn: its message, if still queued, is not sent, and the
    link answers "no longer open". An answer already given stays (it is the client's word)."""
    from messaging.models import OutboundMessage

    survey = Survey.objects.select_for_update().filter(visit_id=visit_id).first()
    if survey is None or survey.withdrawn_at is not None:
        return False
    survey.withdrawn_at = _now()
    survey.save(update_fields=["withdrawn_at"])
    if survey.message_id:
        OutboundMessage.objects.filter(pk=survey.message_id, status=OutboundMessage.Status.QUEUED).update(
            status=OutboundMessage.Status.SUPPRESSED, reason="withdrawn: the visit was voided"
        )
    return True


def _whole(value) -> int | None:
    """An int, or a string of ASCII digits (an optional minus), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        digits = text[1:] if text.startswith("-") else text
        if digits.isascii() and digits.isdigit() and len(digits) <= 9:
            return int(text)
    return None


def _score(value, field: str, low: int, high: int, *, required: bool) -> int | None:
    if value is None or value == "":
        if required:
            raise ValidationError({field: [_("Choose a score.")]})
        return None
    number = _whole(value)
    if number is None or not low <= number <= high:
        raise ValidationError({field: [_("Choose a score from %(a)s to %(b)s.") % {"a": low, "b": high}]})
    return number


def is_low(survey: Survey) -> bool:
    """A low score opens a complaint case: CSAT ≤ FEEDBACK_LOW_CSAT, or NPS ≤ FEEDBACK_LOW_NPS
    with a comment (a bare 6 out of 10 is a passive client, not a complaint)."""
    if survey.csat is not None and survey.csat <= settings.FEEDBACK_LOW_CSAT:
        return True
    return survey.nps is not None and survey.nps <= settings.FEEDBACK_LOW_NPS and bool(survey.comment.strip())


def survey_answer(
    *,
    survey: Survey,
    csat,
    nps=None,
    stylist_rating=None,
    comment: str = "",
    tags=(),
    now: datetime | None = None,
) -> Survey:
    """The client's one answer. A second answer is a Conflict, an expired or withdrawn link a
    Conflict too; a low score opens exactly one complaint case (the survey row is locked, and
    a case has at most one survey), in the same transaction."""
    errors = {}
    values = {}
    for field, low, high, required, value in (
        ("csat", 1, 5, True, csat),
        ("nps", 0, 10, False, nps),
        ("stylist_rating", 1, 5, False, stylist_rating),
    ):
        try:
            values[field] = _score(value, field, low, high, required=required)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    try:
        values["comment"] = _clean_text(comment, "comment", max_length=2000)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    known = set(Tag.values)
    tags = () if tags is None else tags
    # a list of known tags; a bare string, a number or a mapping is refused (never a TypeError)
    if (
        not isinstance(tags, list | tuple | set | frozenset)
        or not all(isinstance(t, str) for t in tags)
        or set(tags) - known
    ):
        errors["tags"] = [_("Choose from the list.")]
    else:
        values["tags"] = [t for t in Tag.values if t in set(tags or ())]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        survey = Survey.objects.select_for_update().select_related("location", "customer").get(pk=survey.pk)
        now = now or _now()
        state = survey_state(survey, now)
        if state == "answered":
            raise Conflict(_("This survey was already answered. Thank you!"), code="survey_answered")
        if state != "open":
            raise Conflict(_("This survey is no longer open."), code=f"survey_{state}")
        for field, value in values.items():
            setattr(survey, field, value)
        survey.answered_at = now
        survey.save(update_fields=[*values, "answered_at"])
        if is_low(survey):
            complaint_open_from_survey(survey=survey)
    return survey


def complaint_open_from_survey(*, survey: Survey) -> Complaint:
    """The case a low score opens (once: a case has at most one survey)."""
    existing = Complaint.objects.filter(survey=survey).first()
    if existing is not None:
        return existing
    category = {t: t for t in Tag.values}.get((survey.tags or [None])[0], Complaint.Category.OTHER)
    scores = [_("Satisfaction %(n)s/5") % {"n": survey.csat}] if survey.csat is not None else []
    if survey.nps is not None:
        scores.append(_("recommend %(n)s/10") % {"n": survey.nps})
    description = "; ".join(scores)
    if survey.comment:
        description += "\n" + survey.comment
    severity = Complaint.Severity.HIGH if (survey.csat or 5) <= 1 else Complaint.Severity.MEDIUM
    return complaint_open(
        customer=survey.customer,
        location=survey.location,
        category=category,
        severity=severity,
        description=description,
        source=Complaint.Source.SURVEY,
        by=None,
        visit=survey.visit,
        staff_involved=[survey.staff] if survey.staff_id else [],
        survey=survey,
    )


# ---- complaints -------------------------------------------------------------------------------

User = get_user_model()


def default_owner(location: Location):
    """The location's manager (the first active one), else an owner of the chain."""
    for role in (Role.MANAGER, Role.OWNER):
        qs = StaffMember.objects.active().filter(role=role)
        if role == Role.MANAGER:
            qs = qs.filter(locations=location)
        staff = qs.select_related("user").order_by("pk").first()
        if staff is not None:
            return staff.user
    return None


def _may_own(user, location: Location) -> bool:
    return bool(
        user and user.is_active and user.has_perm("feedback.manage_complaint") and can_act_at(user, location)
    )


def _action(complaint: Complaint, kind: str, *, by=None, note: str = "", status: str = "", at=None):
    return ComplaintAction.objects.create(
        complaint=complaint, kind=kind, by=by, note=note, status=status, at=at or _now()
    )


def _require(by, perm: str, location: Location | None = None) -> None:
    if by is None:
        return  # the system (a survey, a task)
    if not by.has_perm(perm):
        raise PermissionDenied(_("You may not do this."))
    if location is not None and not can_act_at(by, location):
        raise PermissionDenied(_("You do not work at this location."))


@transaction.atomic
def complaint_open(
    *,
    customer: Customer,
    location: Location,
    category: str,
    description: str,
    by,
    source: str = Complaint.Source.IN_PERSON,
    severity: str = Complaint.Severity.MEDIUM,
    visit: Visit | None = None,
    staff_involved=(),
    owner=None,
    due_at: datetime | None = None,
    survey: Survey | None = None,
) -> Complaint:
    """A new case: owner by default the location's manager, due FEEDBACK_COMPLAINT_DUE_HOURS
    (48) from now. The owner hears of it by a message (after commit)."""
    _require(by, "feedback.add_complaint", location)
    errors = {}
    if category not in Complaint.Category.values:
        errors["category"] = [_("Choose a category.")]
    if severity not in Complaint.Severity.values:
        errors["severity"] = [_("Choose a severity.")]
    if source not in Complaint.Source.values:
        errors["source"] = [_("Choose where it came from.")]
    try:
        description = _clean_text(description, "description", max_length=4000, required=True)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if customer.erased_at is not None:
        errors["customer"] = [_("This client's file was erased.")]
    if visit is not None and visit.customer_id != customer.pk:
        errors["visit"] = [_("This visit is another client's.")]
    staff_involved = [s for s in staff_involved if s is not None]
    if owner is not None and not _may_own(owner, location):
        errors["owner"] = [_("The owner must be a manager who works at this location.")]
    now = _now()
    if due_at is not None and due_at <= now:
        errors["due_at"] = [_("The deadline must be in the future.")]
    if errors:
        raise ValidationError(errors)
    complaint = Complaint.objects.create(
        location=location,
        customer=customer,
        visit=visit,
        survey=survey,
        source=source,
        category=category,
        severity=severity,
        description=description,
        owner=owner or default_owner(location),
        opened_at=now,
        due_at=due_at or now + timedelta(hours=settings.FEEDBACK_COMPLAINT_DUE_HOURS),
        created_by=by,
    )
    if staff_involved:
        complaint.staff_involved.set(staff_involved)
    _action(complaint, ComplaintAction.Kind.OPENED, by=by, status=C.OPEN, at=now)
    pk = complaint.pk
    transaction.on_commit(lambda: _notify_owner(pk, "complaint_new"), robust=True)
    return complaint


def _locked(complaint: Complaint) -> Complaint:
    return Complaint.objects.select_for_update().select_related("customer", "location").get(pk=complaint.pk)


@transaction.atomic
def complaint_note(*, complaint: Complaint, by, note: str) -> ComplaintAction:
    _require(by, "feedback.view_complaint", complaint.location)
    note = _clean_text(note, "note", max_length=4000, required=True)
    complaint = _locked(complaint)
    return _action(complaint, ComplaintAction.Kind.NOTE, by=by, note=note)


@transaction.atomic
def complaint_assign(*, complaint: Complaint, owner, by, due_at: datetime | None = None) -> Complaint:
    _require(by, "feedback.manage_complaint", complaint.location)
    complaint = _locked(complaint)
    if not _may_own(owner, complaint.location):
        raise ValidationError({"owner": [_("The owner must be a manager who works at this location.")]})
    if due_at is not None and due_at <= _now():
        raise ValidationError({"due_at": [_("The deadline must be in the future.")]})
    changed = []
    if owner.pk != complaint.owner_id:
        complaint.owner = owner
        changed.append("owner")
    if due_at is not None and due_at != complaint.due_at:
        complaint.due_at = due_at
        complaint.escalated_at = None  # a new deadline: escalate again if it is missed
        changed += ["due_at", "escalated_at"]
    if changed:
        complaint.save(update_fields=changed)
        _action(
            complaint, ComplaintAction.Kind.OWNER, by=by, note=_("Owner: %(o)s") % {"o": owner_name(owner)}
        )
        pk = complaint.pk
        transaction.on_commit(lambda: _notify_owner(pk, "complaint_new"), robust=True)
    return complaint


@transaction.atomic
def complaint_set_status(
    *, complaint: Complaint, status: str, by, note: str = "", resolution: str = ""
) -> Complaint:
    """open → in progress → resolved (with the resolution) → closed; a resolved or closed case
    may be reopened (in progress)."""
    _require(by, "feedback.manage_complaint", complaint.location)
    complaint = _locked(complaint)
    if status not in C.values:
        raise ValidationError({"status": [_("Choose a status.")]})
    if status == complaint.status:
        return complaint
    if status not in TRANSITIONS[complaint.status]:
        raise Conflict(
            _("A case that is %(a)s cannot become %(b)s.")
            % {"a": complaint.get_status_display(), "b": C(status).label},
            code="complaint_transition",
        )
    note = _clean_text(note, "note", max_length=4000)
    resolution = _clean_text(resolution, "resolution", max_length=4000)
    now = _now()
    fields = ["status"]
    if status == C.RESOLVED:
        resolution = resolution or complaint.resolution
        if not resolution:
            raise ValidationError({"resolution": [_("Say how it was resolved.")]})
        complaint.resolution, complaint.resolved_at = resolution, now
        fields += ["resolution", "resolved_at"]
    elif status == C.CLOSED:
        complaint.closed_at = now
        fields.append("closed_at")
    elif status == C.IN_PROGRESS and complaint.status in (C.RESOLVED, C.CLOSED):
        # reopened: a new deadline from now, escalated again if it is missed
        complaint.resolved_at = complaint.closed_at = complaint.escalated_at = None
        complaint.due_at = now + timedelta(hours=settings.FEEDBACK_COMPLAINT_DUE_HOURS)
        fields += ["resolved_at", "closed_at", "escalated_at", "due_at"]
    complaint.status = status
    complaint.save(update_fields=fields)
    _action(
        complaint,
        ComplaintAction.Kind.STATUS,
        by=by,
        status=status,
        note=note or (resolution if status == C.RESOLVED else ""),
        at=now,
    )
    return complaint


def _money(value, field: str) -> Decimal:
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError, TypeError):
        raise ValidationError({field: [_("Give an amount.")]}) from None
    if not amount.is_finite() or amount <= 0 or amount > Decimal("100000"):
        raise ValidationError({field: [_("Give an amount above zero.")]})
    return amount


@transaction.atomic
def complaint_compensate(*, complaint: Complaint, by, kind: str, value, valid_days: int = 90):
    """Compensation through loyalty's ledgers, once per case: a coupon for the client worth
    `value`, or `value` points. The ledger entry carries the key complaint:<id>, so even a
    second request that got past the case's lock finds the first entry."""
    _require(by, "feedback.compensate_complaint", complaint.location)
    if by is None:
        raise PermissionDenied(_("Compensation is a person's decision."))
    complaint = _locked(complaint)
    if complaint.compensation:
        raise Conflict(_("This case was already compensated."), code="complaint_compensated")
    if complaint.status == C.CLOSED:
        raise Conflict(_("This case is closed."), code="complaint_closed")
    from loyalty import cards
    from loyalty import services as loyalty

    key = f"complaint:{complaint.pk}"
    reason = _("Complaint C-%(n)s") % {"n": complaint.pk}
    if kind == Complaint.Compensation.COUPON:
        amount = _money(value, "value")
        if _whole(valid_days) is None or not 1 <= _whole(valid_days) <= 3650:
            raise ValidationError({"valid_days": [_("Between 1 and 3650 days.")]})
        coupon = cards.coupon_issue(
            customer=complaint.customer,
            kind="complaint",
            value=amount,
            valid_until=timezone.localdate(timezone=complaint.location.tz) + timedelta(days=int(valid_days)),
            note=reason,
            by=by,
            key=key,
        )
        complaint.compensation_ref, complaint.compensation_value = coupon.code, coupon.value
        text = _("Coupon %(code)s worth %(v)s") % {"code": coupon.code, "v": coupon.value}
    elif kind == Complaint.Compensation.POINTS:
        points = _whole(value)
        if points is None or not 0 < points <= 1_000_000:
            raise ValidationError({"value": [_("Give a whole number of points above zero.")]})
        entry = loyalty.points_adjust(
            customer=complaint.customer,
            points=points,
            reason=reason,
            by=by,
            location=complaint.location,
            key=key,
        )
        complaint.compensation_ref, complaint.compensation_value = str(entry.pk), Decimal(points)
        text = _("%(n)s points") % {"n": points}
    else:
        raise ValidationError({"kind": [_("Choose a coupon or points.")]})
    complaint.compensation = kind
    complaint.save(update_fields=["compensation", "compensation_ref", "compensation_value"])
    _action(complaint, ComplaintAction.Kind.COMPENSATED, by=by, note=text)
    return complaint


def owner_name(user) -> str:
    if user is None:
        return ""
    staff = getattr(user, "staff", None)
    return staff.display_name if staff else user.get_username()


def _notify_owner(complaint_id: int, kind: str, *, extra_users=()) -> int:
    """A message to the case's owner (and `extra_users`) by email, once per (case, kind, user)."""
    from messaging.services import message_enqueue

    complaint = (
        Complaint.objects.select_related("customer", "location", "owner").filter(pk=complaint_id).first()
    )
    if complaint is None:
        return 0
    users = {u.pk: u for u in [complaint.owner, *extra_users] if u is not None and u.is_active and u.email}
    sent = 0
    tz = complaint.location.tz
    # keyed on the deadline too: a case given a new deadline (complaint_assign) that is missed
    # again escalates again; the same deadline is told once per person
    stamp = complaint.due_at.isoformat()
    for user in users.values():
        message_enqueue(
            customer=None,
            kind=kind,
            key=f"complaint:{complaint.pk}:{kind}:{user.pk}:{stamp}"[:200],
            context={
                "case": f"C-{complaint.pk}",
                "client": complaint.customer.name,
                "category": complaint.get_category_display(),
                "due": timezone.localtime(complaint.due_at, tz).strftime("%Y-%m-%d %H:%M"),
                "link": settings.MESSAGING_PUBLIC_URL.rstrip("/")
                + reverse("feedback:complaint", args=[complaint.pk]),
            },
            channel="email",
            to=user.email,
            location=complaint.location,
        )
        sent += 1
    return sent


def complaints_escalate(*, now: datetime | None = None) -> int:
    """Cases past their deadline and not yet escalated: marked escalated (one timeline row), and
    the owner and the chain's owners are told. Hourly (beat); each case once per deadline."""
    now = now or _now()
    count = 0
    owners = list(User.objects.filter(is_active=True, staff__role=Role.OWNER, staff__is_active=True))
    ids = list(
        Complaint.objects.filter(status__in=ACTIVE, due_at__lte=now, escalated_at__isnull=True).values_list(
            "pk", flat=True
        )
    )
    for pk in ids:
        with transaction.atomic():
            complaint = (
                Complaint.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, status__in=ACTIVE, due_at__lte=now, escalated_at__isnull=True)
                .first()
            )
            if complaint is None:
                continue
            complaint.escalated_at = now
            complaint.save(update_fields=["escalated_at"])
            _action(complaint, ComplaintAction.Kind.ESCALATED, at=now)
            transaction.on_commit(
                lambda pk=pk: _notify_owner(pk, "complaint_overdue", extra_users=owners), robust=True
            )
            count += 1
    return count


def sla_state(complaint: Complaint, now: datetime | None = None) -> str:
    """'done' (resolved or closed), 'overdue', 'due_soon' (within FEEDBACK_DUE_SOON_HOURS) or 'ok'."""
    if not complaint.is_active:
        return "done"
    now = now or _now()
    if complaint.due_at <= now:
        return "overdue"
    if complaint.due_at - now <= timedelta(hours=settings.FEEDBACK_DUE_SOON_HOURS):
        return "due_soon"
    return "ok"


# ---- follow-up calls --------------------------------------------------------------------------


def local_today(location: Location, now: datetime | None = None) -> date:
    return (now or _now()).astimezone(location.tz).date()


@transaction.atomic
def follow_ups_plan(*, visit: Visit) -> list[FollowUp]:
    """One call per service line whose service has follow-up days ("day 3 after a colour"),
    for the stylist who did it, on that day in the location's calendar. Once per line."""
    if visit.status != Visit.Status.COMPLETED or visit.customer.erased_at is not None:
        return []
    day = local_today(visit.location, visit.completed_at or visit.started_at)
    planned = []
    for line in visit.lines.all():
        service = line.service
        if service is None or not service.follow_up_days:
            continue
        follow_up, _created = FollowUp.objects.get_or_create(
            key=f"visit:{visit.pk}:line:{line.pk}",
            defaults={
                "customer": visit.customer,
                "location": visit.location,
                "visit": visit,
                "service": service,
                "assignee": line.staff,
                "reason": FollowUp.Reason.SERVICE,
                "purpose": (_("How is the %(service)s?") % {"service": service.name})[:200],
                "due_on": day + timedelta(days=service.follow_up_days),
                "created_at": _now(),
            },
        )
        planned.append(follow_up)
    return planned


@transaction.atomic
def follow_ups_cancel(*, visit_id: int) -> int:
    return FollowUp.objects.filter(
        visit_id=visit_id, reason=FollowUp.Reason.SERVICE, status=FollowUp.Status.OPEN
    ).update(status=FollowUp.Status.CANCELLED, done_at=_now())


@transaction.atomic
def follow_up_create(
    *,
    customer: Customer,
    location: Location,
    due_on: date,
    by,
    assignee: StaffMember | None = None,
    purpose: str = "",
    visit: Visit | None = None,
    complaint: Complaint | None = None,
    key: str | None = None,
) -> FollowUp:
    """A call planned by hand. With `key`, planned once: a second call with the same key (a
    double submit, two at once) answers the first row."""
    _require(by, "feedback.add_followup", location)
    if key:
        existing = FollowUp.objects.filter(key=key).first()
        if existing is not None:
            return existing
    errors = {}
    try:
        purpose = _clean_text(purpose, "purpose", max_length=200, required=True, multiline=False)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    # a datetime is a date too, but comparing it with one raises TypeError: refuse it as a field error
    if (
        not isinstance(due_on, date)
        or isinstance(due_on, datetime)
        or due_on < local_today(location)
        or due_on.year > 9000
    ):
        errors["due_on"] = [_("Choose a day from today on.")]
    if assignee is not None and not assignee.locations.filter(pk=location.pk).exists():
        errors["assignee"] = [_("They do not work at this location.")]
    if customer.erased_at is not None:
        errors["customer"] = [_("This client's file was erased.")]
    if visit is not None and visit.customer_id != customer.pk:
        errors["visit"] = [_("This visit is another client's.")]
    if complaint is not None and complaint.customer_id != customer.pk:
        errors["complaint"] = [_("This case is another client's.")]
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            return FollowUp.objects.create(
                customer=customer,
                location=location,
                visit=visit,
                complaint=complaint,
                assignee=assignee,
                reason=FollowUp.Reason.COMPLAINT if complaint else FollowUp.Reason.MANUAL,
                purpose=purpose,
                due_on=due_on,
                created_at=_now(),
                created_by=by,
                key=key or None,
            )
    except IntegrityError:  # the same key planned at the same moment elsewhere: that one stands
        if not key:
            raise
        return FollowUp.objects.get(key=key)


@transaction.atomic
def follow_up_record(
    *,
    follow_up: FollowUp,
    outcome: str,
    by,
    note: str = "",
    category: str = Complaint.Category.OTHER,
) -> FollowUp:
    """The call's outcome. No answer: tried again the next day, until
    FEEDBACK_FOLLOW_UP_ATTEMPTS calls, then done as not reached. A problem opens a complaint
    case (once) with the note as its description."""
    _require(by, "feedback.change_followup", follow_up.location)
    if (
        by is not None
        and role_of(by) == Role.STYLIST
        and follow_up.assignee_id != getattr(staff_of(by), "pk", None)
    ):
        raise PermissionDenied(_("This call is a colleague's."))
    if outcome not in FollowUp.Outcome.values:
        raise ValidationError({"outcome": [_("Choose an outcome.")]})
    note = _clean_text(note, "note", max_length=4000, required=outcome == FollowUp.Outcome.PROBLEM)
    follow_up = (
        FollowUp.objects.select_for_update(of=("self",))
        .select_related("location", "customer", "visit")
        .get(pk=follow_up.pk)
    )
    if follow_up.status != FollowUp.Status.OPEN:
        raise Conflict(_("This call was already recorded."), code="follow_up_done")
    now = _now()
    follow_up.attempts += 1
    stamp = timezone.localtime(now, follow_up.location.tz).strftime("%Y-%m-%d %H:%M")
    line = f"{stamp} {FollowUp.Outcome(outcome).label}" + (f": {note}" if note else "")
    follow_up.note = f"{follow_up.note}\n{line}".strip()
    follow_up.outcome = outcome
    if outcome == FollowUp.Outcome.NO_ANSWER and follow_up.attempts < settings.FEEDBACK_FOLLOW_UP_ATTEMPTS:
        follow_up.due_on = max(follow_up.due_on, local_today(follow_up.location, now)) + timedelta(days=1)
    else:
        follow_up.status, follow_up.done_at, follow_up.done_by = FollowUp.Status.DONE, now, by
    if outcome == FollowUp.Outcome.PROBLEM:
        if category not in Complaint.Category.values:
            raise ValidationError({"category": [_("Choose a category.")]})
        follow_up.opened_complaint = complaint_open(
            customer=follow_up.customer,
            location=follow_up.location,
            category=category,
            description=note,
            by=None,  # the caller may be a stylist; the case is the system's record of the call
            source=Complaint.Source.FOLLOW_UP,
            visit=follow_up.visit,
            staff_involved=[follow_up.assignee] if follow_up.assignee_id else [],
        )
        follow_up.opened_complaint.created_by = by
        follow_up.opened_complaint.save(update_fields=["created_by"])
    follow_up.save()
    return follow_up


def follow_ups_remind(*, now: datetime | None = None) -> int:
    """Each morning, one message to each person with calls overdue (not done by their day),
    once a day. Returns the number of messages planned."""
    from messaging.models import OutboundMessage
    from messaging.services import message_enqueue

    now = now or _now()
    overdue: dict[int, list[FollowUp]] = {}
    rows = (
        FollowUp.objects.filter(status=FollowUp.Status.OPEN, due_on__lt=now.date() + timedelta(days=1))
        .exclude(assignee=None)
        .select_related("assignee__user", "location")
    )
    for f in rows:
        if f.due_on < local_today(f.location, now):
            overdue.setdefault(f.assignee_id, []).append(f)
    sent = 0
    for items in overdue.values():
        staff = items[0].assignee
        user = staff.user
        day = local_today(items[0].location, now)
        if not user.is_active or not user.email:
            continue
        key = f"followups:{staff.pk}:{day.isoformat()}"
        if OutboundMessage.objects.filter(idempotency_key=key).exists():
            continue  # reminded today already: a second run plans (and counts) nothing
        message_enqueue(
            customer=None,
            kind="follow_ups_overdue",
            key=key,
            context={
                "count": len(items),
                "link": settings.MESSAGING_PUBLIC_URL.rstrip("/") + reverse("feedback:follow_ups"),
            },
            channel="email",
            to=user.email,
            location=items[0].location,
        )
        FollowUp.objects.filter(pk__in=[f.pk for f in items]).update(reminded_on=day)
        sent += 1
    return sent
