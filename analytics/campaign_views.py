"""Campaign pages (/dashboard/campaigns/...): the list, a draft's form, the campaign page (the
preview of its audience before the launch, the sent group against the holdout after), the launch
and the at-risk list's "add to campaign". Reading needs accounts.view_dashboards; making,
changing and launching analytics.change_campaign (managers and owners). A manager sees the
campaigns of their own locations, an owner every one; another's campaign looks missing."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from analytics import campaigns
from analytics.campaign_forms import (
    AUDIENCE_FIELDS,
    AddClientForm,
    CampaignForm,
    channel_choices,
    stage_choices,
)
from analytics.models import Campaign, CampaignMember
from customers.selectors import customers_for_bulk
from loyalty.notices import BIRTHDAY
from salon_crm.errors import Conflict
from salon_crm.money import currency_code

PERMISSION = "accounts.view_dashboards"
WRITE = "analytics.change_campaign"
G = CampaignMember.Group
PICKED_SHOWN = 50


def _errors(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return " ".join(m for ms in exc.message_dict.values() for m in ms)
    return " ".join(exc.messages)


@login_required
@permission_required(PERMISSION, raise_exception=True)
def campaign_list(request: HttpRequest) -> HttpResponse:
    rows = (
        campaigns.campaigns_for(request.user)
        .annotate(
            n_sent=Count("members", filter=Q(members__group=G.SENT)),
            n_holdout=Count("members", filter=Q(members__group=G.HOLDOUT)),
            n_picked=Count("members", filter=Q(members__group=G.PICKED)),
        )
        .prefetch_related("locations")
        .order_by("-created_at", "-pk")
    )
    return render(
        request,
        "analytics/campaigns.html",
        {"title": _("Campaigns"), "campaigns": rows, "can_write": request.user.has_perm(WRITE)},
    )


def _save(request: HttpRequest, campaign: Campaign) -> HttpResponse:
    form = CampaignForm(request.POST or None, instance=campaign, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            saved = campaigns.campaign_save(
                campaign=form.save(commit=False),
                by=request.user,
                locations=list(form.cleaned_data["locations"]),
                tags=list(form.cleaned_data["tags"]),
                tiers=list(form.cleaned_data["tiers"]),
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                form.add_error(None, exc)
        except Conflict as exc:
            messages.error(request, str(exc))
            return redirect("analytics:campaign", pk=campaign.pk)
        else:
            messages.success(request, _("Campaign saved. Check the audience, then launch it."))
            return redirect("analytics:campaign", pk=saved.pk)
    title = _("New campaign") if campaign.pk is None else _("Edit campaign")
    return render(
        request,
        "analytics/campaign_form.html",
        {
            "title": title,
            "form": form,
            "campaign": campaign,
            "audience_fields": [form[name] for name in AUDIENCE_FIELDS],
            "offer_fields": [form[name] for name in form.fields if name not in AUDIENCE_FIELDS],
        },
        status=400 if form.is_bound and form.errors else 200,
    )


@login_required
@permission_required(WRITE, raise_exception=True)
def campaign_new(request: HttpRequest) -> HttpResponse:
    kind = request.GET.get("kind")
    campaign = Campaign(kind=kind if kind in Campaign.Kind.values else Campaign.Kind.WINBACK)
    if campaign.kind == Campaign.Kind.BIRTHDAY:
        campaign.message_kind, campaign.birthday_within_days = BIRTHDAY, 7
    else:
        campaign.message_kind, campaign.stages = campaigns.WINBACK, ["dormant"]
    return _save(request, campaign)


@login_required
@permission_required(WRITE, raise_exception=True)
def campaign_edit(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = campaigns.campaign_get_for_user(user=request.user, pk=pk)
    if campaign.status != Campaign.Status.DRAFT:
        messages.error(request, _("Only a draft campaign can be changed."))
        return redirect("analytics:campaign", pk=campaign.pk)
    return _save(request, campaign)


def _pct(x) -> str:
    return "—" if x is None else f"{x * 100:.1f}%"


def _pts(x) -> str:
    return "—" if x is None else f"{x * 100:+.1f}"


def _money(x) -> str:
    return "—" if x is None else f"{x:,.2f}"


def _results_table(r: dict | None) -> dict | None:
    """campaigns.results laid out for the page: rates as percentages, the lift in percentage
    points, money with two decimals."""
    if r is None:
        return None
    rows = []
    for group, label in ((G.SENT, _("Got the offer")), (G.HOLDOUT, _("Holdout (got nothing)"))):
        g = r["groups"][group]
        rows.append(
            {
                "group": group,
                "label": label,
                "members": g["members"],
                "returned30": g["returned30"],
                "rate30": _pct(g["rate30"]),
                "returned60": g["returned60"],
                "rate60": _pct(g["rate60"]),
                "redeemed": g["redeemed"],
                "revenue": _money(g["revenue"]),
                "per_member": _money(g["revenue_per_member"]),
            }
        )
    lift = []
    for key, label, fmt in (
        ("rate30", _("Returned within 30 days (percentage points)"), _pts),
        ("rate60", _("Returned within 60 days (percentage points)"), _pts),
        ("revenue_per_member", _("Revenue per client in 60 days"), _money),
    ):
        i = r["lift"][key]
        low, high = i.low, i.high
        if low is not None and high is not None:
            interval = _("%(low)s to %(high)s") % {"low": fmt(low), "high": fmt(high)}
            clear = low > 0 or high < 0
        else:
            interval, clear = _("not enough clients yet"), False
        lift.append(
            {"key": key, "label": label, "estimate": fmt(i.estimate), "interval": interval, "clear": clear}
        )
    windows = r["windows"]
    return {
        **r,
        "rows": rows,
        "lift_rows": lift,
        "days30": windows[30]["days"],
        "days60": windows[60]["days"],
    }


@login_required
@permission_required(PERMISSION, raise_exception=True)
def campaign_page(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = campaigns.campaign_get_for_user(user=request.user, pk=pk)
    today = timezone.localdate()
    context = {
        "title": campaign.name,
        "campaign": campaign,
        "can_write": request.user.has_perm(WRITE),
        "currency": currency_code(),
        "reasons": campaigns.reason_labels(),
        "stage_labels": dict(stage_choices()),
        "locations": list(campaign.locations.order_by("name")),
        "tags": list(campaign.tags.order_by("name")),
        "tiers": list(campaign.tiers.order_by("rank")),
        "channel_label": dict(channel_choices()).get(campaign.channel, campaign.channel),
        "message_label": next(
            (k.label for k in campaigns.message_kinds() if k.key == campaign.message_kind),
            campaign.message_kind,
        ),
    }
    if campaign.status == Campaign.Status.DRAFT:
        context["preview"] = campaigns.preview(campaign, user=request.user, as_of=today)
        picked = CampaignMember.objects.filter(campaign=campaign, group=G.PICKED).select_related("customer")
        context["picked"] = list(picked.order_by("customer__name", "pk")[:PICKED_SHOWN])
        context["picked_count"] = picked.count()
    else:
        context["results"] = _results_table(campaigns.results(campaign, as_of=today))
        statuses = (
            CampaignMember.objects.filter(campaign=campaign, group=G.SENT)
            .order_by()
            .values_list("message__status")
            .annotate(n=Count("pk"))
        )
        from messaging.models import OutboundMessage

        labels = dict(OutboundMessage.Status.choices)
        context["deliveries"] = [
            (status or "", labels.get(status, _("Not planned yet")), n)
            for status, n in sorted(statuses, key=str)
        ]
        labels, excluded = campaigns.reason_labels(), campaign.excluded or {}
        context["excluded"] = [(labels[r], excluded[r]) for r in campaigns.REASONS if r in excluded]
    return render(request, "analytics/campaign.html", context)


@login_required
@permission_required(WRITE, raise_exception=True)
@require_POST
def campaign_launch(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = campaigns.campaign_get_for_user(user=request.user, pk=pk)
    try:
        launched = campaigns.campaign_launch(campaign=campaign, by=request.user)
    except Conflict as exc:
        messages.error(request, str(exc))
    else:
        counts = CampaignMember.objects.filter(campaign=launched).aggregate(
            sent=Count("pk", filter=Q(group=G.SENT)), holdout=Count("pk", filter=Q(group=G.HOLDOUT))
        )
        messages.success(
            request,
            _("Launched: %(sent)s clients get the offer, %(holdout)s are held out for comparison.") % counts,
        )
    return redirect("analytics:campaign", pk=campaign.pk)


def _back(request: HttpRequest, campaign: Campaign | None) -> str:
    wanted = request.POST.get("next", "")
    if wanted and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    if campaign is not None:
        return reverse("analytics:campaign", args=[campaign.pk])
    return reverse("analytics:campaigns")


@login_required
@permission_required(WRITE, raise_exception=True)
@require_POST
def campaign_add_client(request: HttpRequest) -> HttpResponse:
    """POST campaign=<id>, customer=<id>, next=<where to go back>: pick a client into a draft."""
    form = AddClientForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest(_("Choose a campaign and a client."))
    campaign = campaigns.campaign_get_for_user(user=request.user, pk=form.cleaned_data["campaign"])
    customer = get_object_or_404(customers_for_bulk(user=request.user), pk=form.cleaned_data["customer"])
    try:
        campaigns.campaign_add_client(campaign=campaign, customer=customer, by=request.user)
    except (Conflict, ValidationError) as exc:
        messages.error(request, str(exc) if isinstance(exc, Conflict) else _errors(exc))
    else:
        messages.success(
            request,
            _("%(name)s was added to the campaign %(campaign)s.")
            % {"name": customer.name, "campaign": campaign.name},
        )
    return redirect(_back(request, campaign))


@login_required
@permission_required(WRITE, raise_exception=True)
@require_POST
def campaign_remove_client(request: HttpRequest, pk: int) -> HttpResponse:
    """POST customer=<id>: take a client picked by hand out of a draft."""
    campaign = campaigns.campaign_get_for_user(user=request.user, pk=pk)
    raw = request.POST.get("customer", "")
    if not (raw.isascii() and raw.isdigit() and len(raw) < 12):
        return HttpResponseBadRequest(_("Choose a client."))
    try:
        removed = campaigns.campaign_remove_client(campaign=campaign, customer_id=int(raw))
    except Conflict as exc:
        messages.error(request, str(exc))
    else:
        if removed:
            messages.success(request, _("The client was taken out of the campaign."))
    return redirect(reverse("analytics:campaign", args=[campaign.pk]))
