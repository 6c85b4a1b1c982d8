"""The at-risk list (/dashboard/at-risk/, 流失预警): the clients whose P(alive) has dropped below
the setting or who are dormant, with the reasons in words, by the value at risk; per client one
click to plan a call (a follow-up task), to book, or to add to a draft campaign. Managers (their
locations' clients) and owners (every client)."""

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.access import locations_for, sees_all_locations
from analytics import at_risk, campaigns, churn, rollups
from analytics.models import Campaign
from analytics.rollups import where_key
from analytics.views import ALL, PERMISSION, _filters, _scope_label
from customers.privacy import phone_display_for
from customers.selectors import customers_for_bulk, customers_of_locations
from salon_crm.db_router import reads_from_replica
from salon_crm.money import currency_code

PAGE_SIZE = 50


class CountedPaginator(Paginator):
    """A Paginator told its count."""

    def __init__(self, *args, count: int, **kwargs):
        super().__init__(*args, **kwargs)
        self._known = count

    @property
    def count(self) -> int:
        return self._known


class ThresholdForm(forms.Form):
    below = forms.DecimalField(
        label=gettext_lazy("P(alive) below (%)"), min_value=1, max_value=99, decimal_places=0, required=False
    )


def _scope(request: HttpRequest, filters):
    """The clients the list may show: the chosen location's, else all the user may take in bulk."""
    if filters.location is not None:
        return customers_of_locations([filters.location])
    return customers_for_bulk(user=request.user)


@login_required
@permission_required(PERMISSION, raise_exception=True)
@reads_from_replica
def at_risk_page(request: HttpRequest) -> HttpResponse:
    f = _filters(request)
    form = ThresholdForm(request.GET or None)
    below = at_risk.threshold()
    if form.is_bound and form.is_valid() and form.cleaned_data.get("below") is not None:
        below = float(form.cleaned_data["below"]) / 100
    rows = at_risk.at_risk(customers=_scope(request, f), as_of=f.today, p_below=below)
    # the count (half a second at a million clients) is cached until the roll-ups change
    count = rollups.cached(
        "at_risk_count",
        [where_key(f.locations) if f.location else f"bulk:{request.user.pk}", below, f.today],
        rows.count,
    )
    page = CountedPaginator(rows, PAGE_SIZE, count=count).get_page(request.GET.get("page"))
    items = list(page.object_list)
    scores = {m.customer_id: getattr(getattr(m.customer, "churn", None), "p_alive", None) for m in items}
    reasons = at_risk.reasons_for(scores.keys(), as_of=f.today, scores=scores)
    phone = phone_display_for(request.user)
    model, latest = churn.current_model(), churn.latest_fit()
    drafts = list(  # the draft campaigns this manager may change (their locations'), newest first
        campaigns.campaigns_for(request.user)
        .filter(status=Campaign.Status.DRAFT)
        .order_by("-created_at")[:20]
    )
    query = f"{f.query}&below={round(below * 100)}"
    return render(
        request,
        "analytics/at_risk.html",
        {
            "title": _("Clients at risk"),
            "scope_label": _scope_label(f),
            "filters": f,
            "form": f.form,
            "threshold_form": form,
            "below_percent": round(below * 100),
            "period": f.period,
            "keep": [],
            "page": page,
            "query": query,
            "rows": [
                {
                    "m": m,
                    "score": getattr(m.customer, "churn", None),
                    "phone": phone(m.customer.phone),
                    "reasons": reasons.get(m.customer_id, []),
                }
                for m in items
            ],
            "model": model,
            "failed_fit": latest if latest is not None and not latest.converged else None,
            "drafts": drafts,
            "currency": currency_code(),
            "tomorrow": f.today + timedelta(days=1),
            "here": request.get_full_path(),
            "all_choice": ALL,
        },
    )


def _back(request: HttpRequest) -> str:
    wanted = request.POST.get("next", "")
    if wanted and url_has_allowed_host_and_scheme(
        wanted, {request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return reverse("analytics:at_risk")


@login_required
@permission_required(PERMISSION, raise_exception=True)
@require_POST
def at_risk_call(request: HttpRequest) -> HttpResponse:
    """Plan a win-back call for today (a follow-up task at the client's home location, or the
    manager's first location), for whoever the desk gives it to."""
    from feedback.services import follow_up_create

    raw = request.POST.get("customer", "")
    if not (raw.isascii() and raw.isdigit() and len(raw) < 12):
        return HttpResponseBadRequest(_("Choose a client."))
    customer = customers_for_bulk(user=request.user).filter(pk=int(raw)).first()
    if customer is None:
        raise PermissionDenied(_("Not one of your clients."))
    allowed = list(locations_for(request.user).order_by("pk"))
    home = customer.home_location if customer.home_location_id else None
    location = home if home is not None and (sees_all_locations(request.user) or home in allowed) else None
    location = location or (allowed[0] if allowed else None)
    if location is None:
        raise PermissionDenied(_("You work at no location."))
    day = timezone.localtime(timezone.now(), location.tz).date()
    try:
        # one win-back call a day per client, however often (or however fast) the button is pressed
        follow_up_create(
            customer=customer,
            location=location,
            due_on=day,
            by=request.user,
            purpose=_("Win-back call: ask how they are and offer a visit"),
            key=f"winback-call:{customer.pk}:{day.isoformat()}",
        )
    except ValidationError as exc:
        messages.error(request, " ".join(m for ms in exc.message_dict.values() for m in ms))
    except PermissionDenied as exc:
        messages.error(request, str(exc) or _("You may not plan calls there."))
    else:
        messages.success(
            request, _("A call to %(name)s is on today's follow-up list.") % {"name": customer.name}
        )
    return redirect(_back(request))
