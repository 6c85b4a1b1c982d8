"""Messaging pages: the manager's delivery log and template editor; the client's pages from a
link (confirm or cancel an appointment, unsubscribe); the providers' delivery-receipt webhooks."""

from datetime import date, datetime, time, timedelta

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.access import locations_for, sees_all_locations
from appointments.models import Appointment, AppointmentStatus
from appointments.services import appointment_cancel, appointment_confirm
from messaging import channels, kinds, services
from messaging.appointment_messages import LINK_SALT, when_text
from messaging.models import Channel, MessageTemplate, OutboundMessage
from salon_crm.errors import Conflict
from salon_crm.ratelimit import public_rate_limit

PAGE_SIZE = 50
S = OutboundMessage.Status


# ---- the delivery log ---------------------------------------------------------------------------


class LogFilter(forms.Form):
    status = forms.ChoiceField(label=gettext_lazy("Status"), required=False)
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), required=False)
    channel = forms.ChoiceField(label=gettext_lazy("Channel"), required=False)
    start = forms.DateField(
        label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label=gettext_lazy("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    q = forms.CharField(label=gettext_lazy("Client or number"), required=False, max_length=100)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        everything = [("", _("All"))]
        self.fields["status"].choices = everything + list(S.choices)
        self.fields["kind"].choices = everything + [(k.key, k.label) for k in kinds.kinds()]
        self.fields["channel"].choices = everything + list(Channel.choices)
        for field in self.fields.values():
            css = (
                "form-select form-select-sm"
                if isinstance(field.widget, forms.Select)
                else "form-control form-control-sm"
            )
            field.widget.attrs["class"] = css

    def clean(self):
        data = super().clean()
        for name in ("start", "end"):
            if data.get(name) and not (date(1900, 1, 1) <= data[name] <= date(2999, 12, 31)):
                self.add_error(name, _("Choose a date between 1900 and 2999."))
        return data


def _visible(user):
    """The messages of the locations the user acts at (owners: every message, and the ones
    with no location, such as a one-time code asked for before a location was chosen)."""
    if sees_all_locations(user):
        return OutboundMessage.objects.all()
    return OutboundMessage.objects.filter(location__in=locations_for(user))


def _filtered(form: LogFilter, user):
    qs = _visible(user)
    if not form.is_valid():
        return qs.none()
    data = form.cleaned_data
    for name in ("status", "kind", "channel"):
        if data.get(name):
            qs = qs.filter(**{name: data[name]})
    tz = timezone.get_current_timezone()
    if data.get("start"):
        qs = qs.filter(scheduled_for__gte=datetime.combine(data["start"], time(0), tzinfo=tz))
    if data.get("end"):
        qs = qs.filter(
            scheduled_for__lt=datetime.combine(data["end"] + timedelta(days=1), time(0), tzinfo=tz)
        )
    if data.get("q"):
        text = data["q"].strip()
        qs = qs.filter(customer__name__icontains=text) | qs.filter(to__contains=text)
    return qs


@login_required
@permission_required("messaging.manage_messages", raise_exception=True)
def delivery_log(request: HttpRequest) -> HttpResponse:
    """Every message, newest first: filters, counts by status, the reason of every suppression
    or failure, and the `unknown` ones to resolve."""
    form = LogFilter(request.GET or None)
    qs = _filtered(form, request.user) if request.GET else _visible(request.user)
    counts = dict(qs.order_by().values_list("status").annotate(n=Count("pk")))
    page = Paginator(
        qs.select_related("customer", "location").order_by("-scheduled_for", "-pk"), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    labels = {k.key: k.label for k in kinds.kinds()}
    for message in page:
        message.kind_label = labels.get(message.kind, message.kind)
    return render(
        request,
        "messaging/log.html",
        {
            "form": form,
            "page": page,
            "counts": [(value, label, counts.get(value, 0)) for value, label in S.choices],
            "query": request.GET.copy().urlencode() if request.GET else "",
        },
    )


class ResolveForm(forms.Form):
    outcome = forms.ChoiceField(choices=[("sent", "sent"), ("failed", "failed")])
    note = forms.CharField(max_length=200, required=False)


@login_required
@permission_required("messaging.manage_messages", raise_exception=True)
@require_POST
def message_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(_visible(request.user), pk=pk)
    form = ResolveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose whether it was sent."))
    else:
        try:
            services.message_resolve(
                message=message,
                by=request.user,
                sent=form.cleaned_data["outcome"] == "sent",
                note=form.cleaned_data["note"],
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Message marked."))
    return redirect("messaging:log")


# ---- templates ------------------------------------------------------------------------------------


class TemplateForm(forms.ModelForm):
    class Meta:
        model = MessageTemplate
        fields = ["subject", "body", "wechat_template_id", "is_active"]
        widgets = {"body": forms.Textarea(attrs={"rows": 5})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if name != "is_active":
                field.widget.attrs["class"] = "form-control"
        if self.instance.channel != "email":
            self.fields.pop("subject")
        if self.instance.channel != "wechat":
            self.fields.pop("wechat_template_id")

    def clean_body(self):
        body = self.cleaned_data["body"]
        services.template_check(body)
        return body


def sample_context(kind: kinds.Kind, language: str) -> dict:
    """What a preview fills the template with."""
    now = timezone.now().replace(hour=10, minute=0, second=0, microsecond=0) + timedelta(days=1)
    tz = timezone.get_current_timezone()
    values = {
        "client_name": "张三" if language.startswith("zh") else "Emily",
        "salon": "静安店 Jing'an",
        "salon_phone": "+86 21 6288 0001",
        "when": when_text(now, tz, language),
        "time_zone": str(tz),
        "services": "剪发 Cut",
        "stylists": "李娜 Lina Li",
        "link": settings.MESSAGING_PUBLIC_URL.rstrip("/") + "/m/a/…/",
        "code": "123456",
        "minutes": settings.MESSAGING_CODE_MINUTES,
        "unsubscribe_url": settings.MESSAGING_PUBLIC_URL.rstrip("/") + "/m/u/…/",
    }
    return {k: v for k, v in values.items() if k in (*kind.context, "unsubscribe_url")} if kind else values


@login_required
@permission_required("messaging.manage_messages", raise_exception=True)
def template_list(request: HttpRequest) -> HttpResponse:
    labels = {k.key: k.label for k in kinds.kinds()}
    rows = list(MessageTemplate.objects.order_by("kind", "channel", "language"))
    for row in rows:
        row.label = labels.get(row.kind, row.kind)
    return render(request, "messaging/templates.html", {"rows": rows})


@login_required
@permission_required("messaging.manage_messages", raise_exception=True)
def template_edit(request: HttpRequest, pk: int) -> HttpResponse:
    template = get_object_or_404(MessageTemplate, pk=pk)
    form = TemplateForm(request.POST or None, instance=template)
    kind = kinds.get_kind(template.kind)
    if request.method == "POST" and form.is_valid():
        try:
            services.template_save(template=form.save(commit=False), by=request.user)
        except (ValidationError, PermissionDenied) as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Template saved."))
            return redirect("messaging:template_edit", pk=template.pk)
    preview_source = form.data.get("body", template.body) if form.is_bound else template.body
    context = sample_context(kind, template.language)
    return render(
        request,
        "messaging/template_edit.html",
        {
            "form": form,
            "template": template,
            "kind": kind,
            "preview": services.render(preview_source, context),
            "variables": sorted(context),
        },
    )


# ---- the client's pages (no login) ------------------------------------------------------------------


def _page_language(request: HttpRequest, customer) -> str:
    """A link from a message opens in the message's language (the client's), unless the client
    chose one with the page's language switch."""
    if request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME):
        return translation.get_language()
    return services.language_of(customer)


def _appointment_from_token(token: str) -> Appointment:
    try:
        data = signing.Signer(salt=LINK_SALT).unsign_object(token)
    except (signing.BadSignature, ValueError):
        raise Http404("Bad link") from None
    if not isinstance(data, dict):
        raise Http404("Bad link")
    return get_object_or_404(
        Appointment.objects.select_related("location", "customer").prefetch_related("items__service"),
        pk=data.get("a"),
        customer_id=data.get("c"),
    )


@public_rate_limit("manage")
def appointment_link(request: HttpRequest, token: str) -> HttpResponse:
    """The link in a confirmation or reminder: confirm, or cancel before the cut-off."""
    appointment = _appointment_from_token(token)
    cutoff = timedelta(hours=settings.BOOKING_ONLINE_CUTOFF_HOURS)
    changeable = appointment.status in (AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED)
    may_cancel = changeable and appointment.start - timezone.now() >= cutoff
    done = ""
    if request.method == "POST" and changeable:
        action = request.POST.get("action")
        try:
            if action == "confirm":
                appointment_confirm(appointment=appointment, by=None)
                done = "confirmed"
            elif action == "cancel" and may_cancel:
                appointment_cancel(
                    appointment=appointment, by=None, reason=_("Cancelled by the client from a message")
                )
                done = "cancelled"
        except (Conflict, ValidationError, PermissionDenied):
            done = ""
        appointment.refresh_from_db()
        changeable = appointment.status in (AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED)
        may_cancel = changeable and appointment.start - timezone.now() >= cutoff
    language = _page_language(request, appointment.customer)
    context = {
        "appointment": appointment,
        "location": appointment.location,
        "when": when_text(appointment.start, appointment.location.tz, language),
        "services": ", ".join(i.service.name for i in appointment.items.all()),
        "changeable": changeable,
        "may_cancel": may_cancel,
        "cutoff_hours": settings.BOOKING_ONLINE_CUTOFF_HOURS,
        "done": done,
    }
    with translation.override(language):
        return render(request, "messaging/appointment_link.html", context)


@public_rate_limit("unsubscribe")
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks; POST revokes the channel's marketing consent (a ConsentRecord says how)."""
    try:
        customer, channel = services.unsubscribe_read(token)
    except ValidationError:
        raise Http404("Bad link") from None
    done = False
    if request.method == "POST":
        services.unsubscribe(token=token)
        done = True
    with translation.override(_page_language(request, customer)):
        return render(
            request,
            "messaging/unsubscribe.html",
            {
                "channel": dict(Channel.choices).get(channel, channel),
                "done": done,
                "first_name": customer.name[:1],
            },
        )


# ---- delivery receipts ------------------------------------------------------------------------------


@csrf_exempt
def receipts(request: HttpRequest, provider: str) -> HttpResponse:
    """A provider's signed delivery receipts: delivered or failed. A bad signature is a 403;
    receipts for messages we do not know are ignored (200, so the provider stops retrying).
    WeChat first checks the URL with a signed GET that must echo `echostr`."""
    backend = channels.backend_for_provider(provider)
    if backend is None:
        raise Http404("No such provider")
    if request.method == "GET" and provider == "wechat":
        from messaging.channels.wechat import wechat_signature

        token = backend.options.get("TOKEN", "")
        expected = wechat_signature(token, request.GET.get("timestamp", ""), request.GET.get("nonce", ""))
        if not token or request.GET.get("signature") != expected:
            return HttpResponse("bad signature", status=403, content_type="text/plain")
        return HttpResponse(request.GET.get("echostr", ""), content_type="text/plain")
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "POST"})
    try:
        found = backend.receipts(request)
    except PermissionDenied:
        return HttpResponse("bad signature", status=403, content_type="text/plain")
    changed = sum(
        services.receipt_apply(
            provider=provider, provider_message_id=r.provider_message_id, delivered=r.delivered, error=r.error
        )
        for r in found
    )
    # WeChat expects "success" (or an empty body); the others only read the status code.
    return HttpResponse("success" if provider == "wechat" else f"{changed}", content_type="text/plain")
