"""The header search box (htmx, results as you type) and the client list page."""

from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from customers import list_filters
from customers.models import Customer, Tag
from customers.privacy import display_phone
from customers.search import customer_search

HEADER_RESULTS = 8
LIST_RESULTS = 50
PAGE_SIZE = 25


def customer_card_url(pk: int) -> str:
    """The client card; a plain path while the card page is not installed."""
    try:
        return reverse("customers:detail", args=[pk])
    except NoReverseMatch:
        return f"/customers/{pk}/"


def _url_or_empty(name: str) -> str:
    try:
        return reverse(name)
    except NoReverseMatch:
        return ""


def _rows(user, customers) -> list[dict]:
    """What a result line shows; the phone as this user may see it (masked for stylists)."""
    return [
        {
            "customer": c,
            "phone": display_phone(user, c.phone),
            "tags": list(c.tags.all()),
            "url": customer_card_url(c.pk),
        }
        for c in customers
    ]


@require_GET
@login_required
@permission_required("customers.view_customer", raise_exception=True)
def customer_search_view(request: HttpRequest) -> HttpResponse:
    """The header box's fragment. A full-page GET (no htmx) goes to the list with the same q."""
    q = request.GET.get("q", "").strip()[:100]
    if not request.htmx:
        return redirect(f"{reverse('customers:list')}?q={q}" if q else reverse("customers:list"))
    context = {
        "q": q,
        "rows": _rows(request.user, customer_search(q=q, limit=HEADER_RESULTS)) if q else [],
        "quick_add_url": _url_or_empty("customers:quick_add"),
        "list_url": reverse("customers:list"),
    }
    return render(request, "customers/search_results.html#results", context)


@require_GET
@login_required
@permission_required("customers.view_customer", raise_exception=True)
def customer_list_view(request: HttpRequest) -> HttpResponse:
    """?q= → the best matches (customer_search); no q → newest clients, paginated; ?tag= filters,
    and so does every registered list filter (customers.list_filters: analytics' ?class=)."""
    q = request.GET.get("q", "").strip()[:100]
    tags = list(Tag.objects.all())
    tag = next((t for t in tags if str(t.pk) == request.GET.get("tag", "")), None)
    applied = list_filters.from_request(request.GET)
    narrowed = any(a.value for a in applied)
    page = None
    if q:
        customers = customer_search(q=q, limit=LIST_RESULTS)
        if tag is not None:
            customers = [c for c in customers if tag in c.tags.all()]
        if narrowed and customers:  # one query over the matches
            keep = set(
                list_filters.narrow(
                    Customer.objects.filter(pk__in=[c.pk for c in customers]), applied
                ).values_list("pk", flat=True)
            )
            customers = [c for c in customers if c.pk in keep]
    else:
        qs = Customer.objects.active().select_related("preferred_staff").prefetch_related("tags")
        if tag is not None:
            qs = qs.filter(tags=tag)
        qs = list_filters.narrow(qs, applied)
        page = Paginator(qs.order_by("-created_at", "-pk"), PAGE_SIZE).get_page(request.GET.get("page"))
        customers = page.object_list
    context = {
        "q": q,
        "tag": tag,
        "tags": tags,
        "page": page,
        "rows": _rows(request.user, customers),
        "list_filters": applied,
        "filter_query": urlencode([(a.filter.key, a.value) for a in applied if a.value]),
        "quick_add_url": _url_or_empty("customers:quick_add"),
        "create_url": _url_or_empty("customers:create"),
        "import_url": _url_or_empty("customers:import")
        if request.user.has_perm("customers.export_customer")
        else "",
        "export_url": _url_or_empty("customers:export")
        if request.user.has_perm("customers.export_customer")
        else "",
        "merge_url": _url_or_empty("customers:merge")
        if request.user.has_perm("customers.merge_customer")
        else "",
    }
    if request.htmx and request.htmx.target == "client-list":
        return render(request, "customers/list.html#client-list", context)
    return render(request, "customers/list.html", context)
