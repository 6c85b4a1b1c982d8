"""feedback's pages: the client's survey (/s/<token>/, no login), the managers' feedback inbox
and results, the complaint board and a case's page, follow-up calls, and the dialogs over the
client card. Thin: every write is a feedback.services call."""

from datetime import datetime, time, timedelta

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.access import can_act_at, current_location, staff_of
from accounts.models import Role, StaffMember
from appointments.catalogue_forms import IsoDateField
from appointments.models import Visit
from appointments.views.common import add_service_errors, dialog_done
from customers.privacy import display_phone
from customers.selectors import customer_get
from feedback import selectors, services
from feedback.forms import (
    CompensationForm,
    ComplaintAssignForm,
    ComplaintForm,
    ComplaintNoteForm,
    ComplaintStatusForm,
    FollowUpForm,
    FollowUpRecordForm,
    SurveyForm,
)
from feedback.models import Complaint, FollowUp, Tag
from salon_crm.errors import Conflict
from salon_crm.ratelimit import public_rate_limit

# ---- the client's survey (no login) ---------------------------------------------------------------


def _page_language(request: HttpRequest, customer) -> str:
    from messaging.services import language_of

    if request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME):
        return translation.get_language()
    return language_of(customer)


@public_rate_limit("survey")
def survey_page(request: HttpRequest, token: str) -> HttpResponse:
    """The survey link from the message. A forged or unknown link is a 404; an expired,
    withdrawn or answered one a plain page that says so (410 for expired and withdrawn)."""
    survey = services.survey_from_token(token)
    if survey is None:
        raise Http404("Bad link")
    state = services.survey_state(survey)
    form = SurveyForm(request.POST or None)
    done = False
    if request.method == "POST" and state == "open" and form.is_valid():
        data = form.cleaned_data
        try:
            services.survey_answer(
                survey=survey,
                csat=data["csat"],
                nps=data.get("nps"),
                stylist_rating=data.get("stylist_rating"),
                comment=data.get("comment", ""),
                tags=data.get("tags") or [],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        except Conflict:
            survey.refresh_from_db()
            state = services.survey_state(survey)
        else:
            done = True
            state = "answered"
    language = _page_language(request, survey.customer)
    context = {
        "survey": survey,
        "location": survey.location,
        "form": form,
        "state": state,
        "done": done,
        "stylist": survey.staff.display_name if survey.staff_id else "",
        "nps_range": range(0, 11),
        "five": range(1, 6),
    }
    with translation.override(language):
        status = (
            410
            if state in ("expired", "withdrawn")
            else (400 if request.method == "POST" and form.errors else 200)
        )
        return render(request, "feedback/survey.html", context, status=status)


@login_required
@permission_required("feedback.view_followup", raise_exception=True)
def home(request: HttpRequest) -> HttpResponse:
    """The header's "Feedback": managers land on the survey answers, everyone else on their calls."""
    if request.user.has_perm("feedback.view_survey_results"):
        return redirect("feedback:inbox")
    return redirect("feedback:follow_ups")


# ---- the managers' inbox and results ---------------------------------------------------------------


class PeriodForm(forms.Form):
    start = IsoDateField(label=gettext_lazy("From"), required=False)
    end = IsoDateField(label=gettext_lazy("To"), required=False)
    low = forms.BooleanField(label=gettext_lazy("Low scores only"), required=False)


def _period(request, location):
    """The ?start=&end= days (default: the last 30 days to today) as aware datetimes in the
    location's zone, end exclusive."""
    today = services.local_today(location)
    form = PeriodForm(request.GET or None)
    start, end = today - timedelta(days=29), today
    if form.is_valid():
        start = form.cleaned_data.get("start") or start
        end = form.cleaned_data.get("end") or end
    if end < start:
        start, end = end, start
    tz = location.tz
    since = datetime.combine(start, time.min, tz)
    until = (
        datetime.combine(end + timedelta(days=1), time.min, tz)
        if end.year < 9999
        else datetime.max.replace(tzinfo=tz)
    )
    return form, start, end, since, until


@login_required
@permission_required("feedback.view_survey_results", raise_exception=True)
def inbox(request: HttpRequest) -> HttpResponse:
    """Answered surveys at the current location, newest first: the low ones marked, with the
    case each opened."""
    location = current_location(request)
    if location is None:
        raise Http404("No location")
    form, start, end, since, until = _period(request, location)
    surveys = selectors.surveys_for(request.user).filter(location=location)
    period = surveys.filter(visit__completed_at__gte=since, visit__completed_at__lt=until)
    summary = selectors.score_summary(period)
    answered = selectors.answered(period).select_related("visit").order_by("-answered_at")
    if form.is_valid() and form.cleaned_data.get("low"):
        answered = answered.filter(
            Q(csat__lte=settings.FEEDBACK_LOW_CSAT) | Q(nps__lte=settings.FEEDBACK_LOW_NPS)
        )
    page = Paginator(answered, 50).get_page(request.GET.get("page"))
    for s in page:
        s.low = services.is_low(s)
        s.tag_labels = [Tag(t).label for t in s.tags if t in Tag.values]
        s.phone = display_phone(request.user, s.customer.phone)
    return render(
        request,
        "feedback/inbox.html",
        {"form": form, "page": page, "summary": summary, "start": start, "end": end, "location": location},
    )


@login_required
@permission_required("feedback.view_survey_results", raise_exception=True)
def results(request: HttpRequest) -> HttpResponse:
    """Survey results by stylist and by service for a period (visits completed in it)."""
    location = current_location(request)
    if location is None:
        raise Http404("No location")
    form, start, end, since, until = _period(request, location)
    period = selectors.surveys_for(request.user).filter(
        location=location, visit__completed_at__gte=since, visit__completed_at__lt=until
    )
    return render(
        request,
        "feedback/results.html",
        {
            "form": form,
            "start": start,
            "end": end,
            "location": location,
            "summary": selectors.score_summary(period),
            "tables": [
                (_("By stylist"), selectors.results_by_stylist(period), "staff", "by-stylist"),
                (_("By service"), selectors.results_by_service(period), "service", "by-service"),
            ],
        },
    )


# ---- complaints ---------------------------------------------------------------------------------------

BOARD_COLUMNS = (Complaint.Status.OPEN, Complaint.Status.IN_PROGRESS, Complaint.Status.RESOLVED)


@login_required
@permission_required("feedback.view_complaint", raise_exception=True)
def board(request: HttpRequest) -> HttpResponse:
    """The complaint board of the current location: open, in progress, resolved (the last 30
    days), each card coloured by its deadline (SLA)."""
    location = current_location(request)
    if location is None:
        raise Http404("No location")
    now = timezone.now()
    qs = selectors.complaints_for(request.user).filter(location=location)
    mine = request.GET.get("mine") == "1"
    if mine:
        qs = qs.filter(owner=request.user)
    qs = qs.filter(status__in=BOARD_COLUMNS).exclude(
        status=Complaint.Status.RESOLVED, resolved_at__lt=now - timedelta(days=30)
    )
    columns = {s: [] for s in BOARD_COLUMNS}
    for c in qs.order_by("due_at")[:300]:
        c.sla = services.sla_state(c, now)
        columns[c.status].append(c)
    overdue = sum(
        1
        for c in columns[Complaint.Status.OPEN] + columns[Complaint.Status.IN_PROGRESS]
        if c.sla == "overdue"
    )
    return render(
        request,
        "feedback/board.html",
        {
            "columns": [(Complaint.Status(s).label, s, columns[s]) for s in BOARD_COLUMNS],
            "overdue": overdue,
            "mine": mine,
            "location": location,
            "tz": location.tz,
        },
    )


def _complaint_for(request, pk: int) -> Complaint:
    complaint = selectors.complaints_for(request.user).filter(pk=pk).first()
    if complaint is None:
        raise Http404("No such case")
    return complaint


def _owners(location):
    """Who may own a case here: the location's managers and the chain's owners (a role's
    permission may be taken away in the admin, so it is checked too)."""
    from django.contrib.auth import get_user_model

    users = (
        get_user_model()
        .objects.filter(is_active=True, staff__is_active=True)
        .filter(Q(staff__role=Role.MANAGER, staff__locations=location) | Q(staff__role=Role.OWNER))
        .select_related("staff")
        .distinct()
    )
    return [u for u in users if u.has_perm("feedback.manage_complaint")]


@login_required
@permission_required("feedback.view_complaint", raise_exception=True)
def complaint_page(request: HttpRequest, pk: int) -> HttpResponse:
    """One case: what happened, its timeline, and (for managers) status, owner, compensation."""
    complaint = _complaint_for(request, pk)
    user = request.user
    manage = user.has_perm("feedback.manage_complaint") and can_act_at(user, complaint.location)
    compensate = (
        user.has_perm("feedback.compensate_complaint") and user.has_perm("loyalty.adjust_ledger") and manage
    )
    action = request.POST.get("action") if request.method == "POST" else None
    owners = {u.pk: u for u in _owners(complaint.location)}
    forms_ = {
        "note": ComplaintNoteForm(request.POST if action == "note" else None, prefix="note"),
        "status": ComplaintStatusForm(request.POST if action == "status" else None, prefix="status"),
        "assign": ComplaintAssignForm(request.POST if action == "assign" else None, prefix="assign"),
        "compensate": CompensationForm(request.POST if action == "compensate" else None, prefix="comp"),
    }
    from django.contrib.auth import get_user_model

    forms_["assign"].fields["owner"].queryset = get_user_model().objects.filter(pk__in=owners)
    forms_["assign"].fields["owner"].label_from_instance = services.owner_name
    forms_["assign"].fields["owner"].initial = complaint.owner_id
    forms_["status"].fields["status"].choices = [
        (s, Complaint.Status(s).label) for s in sorted(services.TRANSITIONS[complaint.status])
    ]
    if action in forms_ and (
        action == "note"
        or (action == "compensate" and compensate)
        or (action in ("status", "assign") and manage)
    ):
        form = forms_[action]
        if form.is_valid():
            data = form.cleaned_data
            try:
                if action == "note":
                    services.complaint_note(complaint=complaint, by=user, note=data["note"])
                    done = _("Note added.")
                elif action == "status":
                    services.complaint_set_status(
                        complaint=complaint,
                        status=data["status"],
                        by=user,
                        note=data.get("note", ""),
                        resolution=data.get("resolution", ""),
                    )
                    done = _("Status changed.")
                elif action == "assign":
                    due = None
                    if data.get("due_at_day"):
                        due = datetime.combine(data["due_at_day"], time(18, 0), complaint.location.tz)
                    services.complaint_assign(complaint=complaint, owner=data["owner"], by=user, due_at=due)
                    done = _("Owner saved.")
                else:
                    value = data["value"]
                    services.complaint_compensate(
                        complaint=complaint,
                        by=user,
                        kind=data["kind"],
                        value=int(value) if data["kind"] == Complaint.Compensation.POINTS else value,
                        valid_days=data["valid_days"],
                    )
                    done = _("Compensation given.")
            except ValidationError as exc:
                add_service_errors(form, exc)
            except Conflict as exc:
                form.add_error(None, str(exc.message))
            except PermissionDenied as exc:
                form.add_error(None, str(exc) or _("You may not do this."))
            else:
                messages.success(request, done)
                return redirect("feedback:complaint", pk=complaint.pk)
    elif action:
        raise PermissionDenied(_("You may not do this."))
    complaint.sla = services.sla_state(complaint)
    actions = list(complaint.actions.select_related("by__staff"))
    for a in actions:
        a.status_label = Complaint.Status(a.status).label if a.status in Complaint.Status.values else ""
    status_code = 400 if action and any(f.errors for f in forms_.values()) else 200
    return render(
        request,
        "feedback/complaint.html",
        {
            "complaint": complaint,
            "tz": complaint.location.tz,
            "actions": actions,
            "staff_involved": list(complaint.staff_involved.all()),
            "forms": forms_,
            "manage": manage,
            "compensate": compensate
            and complaint.status != Complaint.Status.CLOSED
            and not complaint.compensation,
            "owner_name": services.owner_name(complaint.owner),
            "phone": display_phone(user, complaint.customer.phone),
            "follow_ups": list(complaint.follow_ups.all()),
        },
        status=status_code,
    )


def _visit_choices(customer, location):
    tz = location.tz
    visits = Visit.objects.filter(customer=customer, status=Visit.Status.COMPLETED).order_by("-started_at")[
        :10
    ]
    return [
        (v.pk, f"{timezone.localtime(v.started_at, tz):%Y-%m-%d %H:%M} · #{v.pk} · {v.total}") for v in visits
    ]


@login_required
@permission_required("feedback.add_complaint", raise_exception=True)
def complaint_new_for(request: HttpRequest, pk: int) -> HttpResponse:
    """The desk logs a complaint (phone, in person) from the client card: a dialog."""
    customer = customer_get(pk=pk)
    location = current_location(request)
    if customer.erased_at is not None or location is None:
        raise PermissionDenied(_("This client's file was erased."))
    staff = StaffMember.objects.active().filter(locations=location).order_by("display_name")
    visits = _visit_choices(customer, location)
    form = ComplaintForm(request.POST or None, visits=visits, staff=staff)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        visit = (
            Visit.objects.filter(pk=data["visit"], customer=customer).first() if data.get("visit") else None
        )
        try:
            complaint = services.complaint_open(
                customer=customer,
                location=location,
                category=data["category"],
                severity=data["severity"],
                source=data["source"],
                description=data["description"],
                visit=visit,
                staff_involved=list(data["staff_involved"]),
                by=request.user,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return dialog_done(_("Complaint C-%(n)s opened.") % {"n": complaint.pk})
    return render(
        request,
        "feedback/dialogs/complaint_new.html",
        {"form": form, "customer": customer, "location": location},
    )


# ---- follow-up calls -------------------------------------------------------------------------------------


@login_required
@permission_required("feedback.view_followup", raise_exception=True)
def follow_ups(request: HttpRequest) -> HttpResponse:
    """Calls due today and overdue at the current location: "mine" by default for whoever has
    calls of their own; the desk and managers switch to everyone's."""
    location = current_location(request)
    if location is None:
        raise Http404("No location")
    today = services.local_today(location)
    me = staff_of(request.user)
    stylist = selectors.is_stylist(request.user)
    show = request.GET.get("show")
    if stylist:
        show = "mine"
    elif show not in ("mine", "all"):  # the desk and managers: their own calls if they have any today
        mine = selectors.follow_ups_due(request.user, location=location, day=today, mine=True)
        show = "mine" if me is not None and mine.exists() else "all"
    qs = selectors.follow_ups_due(request.user, location=location, day=today, mine=show == "mine")
    rows = list(qs[:200])
    upcoming = list(
        selectors.follow_ups_for(request.user)
        .filter(location=location, status=FollowUp.Status.OPEN, due_on__gt=today)
        .filter(**({"assignee": me} if show == "mine" else {}))
        .order_by("due_on")[:50]
    )
    phone = display_phone
    for f in rows + upcoming:
        f.phone = phone(request.user, f.customer.phone)
        f.overdue = f.due_on < today
        f.form = FollowUpRecordForm(prefix=f"f{f.pk}")
    return render(
        request,
        "feedback/follow_ups.html",
        {
            "rows": rows,
            "upcoming": upcoming,
            "today": today,
            "show": show,
            "stylist": stylist,
            "location": location,
        },
    )


@login_required
@permission_required("feedback.change_followup", raise_exception=True)
def follow_up_record(request: HttpRequest, pk: int) -> HttpResponse:
    if request.method != "POST":
        return redirect("feedback:follow_ups")
    follow_up = selectors.follow_ups_for(request.user).filter(pk=pk).first()
    if follow_up is None:
        raise Http404("No such call")
    form = FollowUpRecordForm(request.POST, prefix=f"f{pk}")
    if form.is_valid():
        data = form.cleaned_data
        try:
            saved = services.follow_up_record(
                follow_up=follow_up,
                outcome=data["outcome"],
                note=data.get("note", ""),
                category=data.get("category") or "other",
                by=request.user,
            )
        except ValidationError as exc:
            messages.error(request, " ".join(m for ms in exc.message_dict.values() for m in ms))
        except Conflict as exc:
            messages.error(request, str(exc.message))
        else:
            if saved.opened_complaint_id:
                messages.warning(
                    request, _("Complaint C-%(n)s opened from the call.") % {"n": saved.opened_complaint_id}
                )
            elif saved.status == FollowUp.Status.OPEN:
                messages.info(
                    request,
                    _("No answer: the call is on the list again for %(day)s.")
                    % {"day": saved.due_on.isoformat()},
                )
            else:
                messages.success(request, _("Call recorded."))
    else:
        messages.error(request, " ".join(m for ms in form.errors.values() for m in ms))
    back = request.POST.get("next") or ""
    if back.startswith("/") and not back.startswith("//"):
        return redirect(back)
    return redirect("feedback:follow_ups")


@login_required
@permission_required("feedback.add_followup", raise_exception=True)
def follow_up_new(request: HttpRequest, pk: int) -> HttpResponse:
    """Plan a follow-up call for this client (a dialog over the client card)."""
    customer = customer_get(pk=pk)
    location = current_location(request)
    if customer.erased_at is not None or location is None:
        raise PermissionDenied(_("This client's file was erased."))
    staff = StaffMember.objects.active().filter(locations=location).order_by("display_name")
    me = staff_of(request.user)
    initial = {"due_on": services.local_today(location) + timedelta(days=1), "assignee": me}
    form = FollowUpForm(request.POST or None, staff=staff, initial=initial)
    if selectors.is_stylist(request.user):
        form.fields["assignee"].queryset = staff.filter(pk=getattr(me, "pk", None))
        form.fields["assignee"].required = True
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.follow_up_create(
                customer=customer,
                location=location,
                due_on=data["due_on"],
                assignee=data.get("assignee"),
                purpose=data["purpose"],
                by=request.user,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return dialog_done(_("Follow-up call planned."))
    return render(request, "feedback/dialogs/follow_up_new.html", {"form": form, "customer": customer})
