"""Reads of client files shared by pages, API and commands."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db.models import OuterRef, Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import locations_for, sees_all_locations, staff_of
from accounts.models import Location
from customers.card import CardPanel, panels_for
from customers.card import reads_for as panel_reads_for
from customers.card import registered_reads as registered_panel_reads
from customers.models import ColourFormula, Customer, FormulaShade, PatchTest, Tag
from customers.privacy import can_read_health, can_write_health
from customers.safety import SafetyWarning, customer_safety_warnings
from customers.timeline import TimelineEvent, timeline_for
from customers.timeline import reads_for as timeline_reads_for
from customers.timeline import registered_reads as registered_timeline_reads
from salon_crm.rows import NOW, build, build_all, obj, read_row, rows

CARD_FORMULAS = 20  # newest formula versions on the card; older ones stay in the export
CARD_PATCH_TESTS = 10
CARD_TIMELINE = 30  # newest events of the history


def customer_qs() -> QuerySet[Customer]:
    return Customer.objects.select_related(
        "preferred_staff", "home_location", "referred_by"
    ).prefetch_related("tags")


def customer_get(*, pk: int) -> Customer:
    """Clients are chain-wide: every role with view_customer may open any card (404 if missing)."""
    return get_object_or_404(customer_qs(), pk=pk)


def customer_pks_by_external_id(*, external_ids: Iterable[str], chunk: int = 5000) -> dict[str, int]:
    """{external_id: pk} of the clients on file among `external_ids` (one query per `chunk` ids:
    history imports resolve a million ids this way)."""
    ids = list(external_ids)
    found: dict[str, int] = {}
    for i in range(0, len(ids), chunk):
        rows = Customer.objects.filter(external_id__in=ids[i : i + chunk]).values_list("external_id", "pk")
        found.update(rows)
    return found


# ---- who sees which client, in bulk ----------------------------------------------------------------
# Reading one client's file is chain-wide (a member may walk into any branch; every view is logged).
# Bulk reads - the CSV/XLSX export, campaign audiences - are not: an owner gets every client, a
# manager the clients of the locations they hold: home location there, or (hooks registered by
# higher apps) a visit or an appointment there. Everyone else gets none.

BulkScope = Callable[[QuerySet[Location]], Q]  # scope(locations) -> a condition on Customer
_BULK_SCOPES: dict[str, BulkScope] = {}


def register_bulk_scope(key: str, scope: BulkScope) -> None:
    """Another way a client "belongs" to a location for bulk reads (appointments: a visit or an
    appointment there). `scope(locations)` returns a Q on Customer, e.g. an Exists()."""
    _BULK_SCOPES[key] = scope


def unregister_bulk_scope(key: str) -> None:
    _BULK_SCOPES.pop(key, None)


def customers_for_bulk(*, user) -> QuerySet[Customer]:
    """The active clients this user may take in bulk (export, campaign audiences): every one for
    a user who sees all locations (owners); for others the clients of the locations they act at
    (home location, or any registered scope: a visit or an appointment there); none without a
    location. The caller checks the permission for the action itself (export_customer...)."""
    if sees_all_locations(user):
        return Customer.objects.active()
    return customers_of_locations(locations_for(user))


def customers_of_locations(locations) -> QuerySet[Customer]:
    """The active clients who belong to any of `locations` (a Location queryset or list): home
    location there, or any registered scope (a visit or an appointment there)."""
    qs = Customer.objects.active()
    if isinstance(locations, QuerySet):
        if not locations.exists():
            return qs.none()
    elif not locations:
        return qs.none()
    condition = Q(home_location__in=locations)
    for scope in _BULK_SCOPES.values():
        condition |= scope(locations)
    return qs.filter(condition)


def customer_list_newest() -> QuerySet[Customer]:
    return customer_qs().filter(erased_at__isnull=True).order_by("-created_at", "-pk")


def formula_get(*, customer: Customer, pk: int) -> ColourFormula:
    return get_object_or_404(
        ColourFormula.objects.select_related("customer", "stylist").prefetch_related("shades"),
        customer=customer,
        pk=pk,
    )


def formula_search(*, brand: str = "", shade: str = "") -> QuerySet[ColourFormula]:
    """ "Which clients used shade X of brand Y": formulas whose brand matches (case-insensitive,
    exact) and that hold the shade; newest first, with client and shades."""
    qs = ColourFormula.objects.select_related("customer", "stylist").prefetch_related("shades")
    if brand:
        qs = qs.filter(brand__iexact=brand.strip())
    if shade:
        qs = qs.filter(pk__in=FormulaShade.objects.filter(shade__iexact=shade.strip()).values("formula_id"))
    return qs.filter(customer__erased_at__isnull=True).order_by("-created_at", "-pk")


@dataclass
class CustomerCard:
    customer: Customer
    tags: list[Tag]
    warnings: list[SafetyWarning]
    show_health: bool
    can_write_health: bool
    formulas: list[ColourFormula]  # each with `shade_list` (FormulaShade, in order)
    patch_tests: list[PatchTest]
    timeline: list[TimelineEvent]
    panels: list[CardPanel]  # from other apps (customers.card): summary figures, actions, sections

    @property
    def facts(self) -> list:
        return [fact for panel in self.panels for fact in panel.facts]

    @property
    def actions(self) -> list:
        return [action for panel in self.panels for action in panel.actions]


def _card_warnings(customer: Customer, patch_tests: list[PatchTest]) -> list[SafetyWarning]:
    """Allergy and contraindication (customer_safety_warnings with no service), plus a reaction
    to the latest patch test: beside the chair that matters before any service is chosen."""
    warnings = customer_safety_warnings(customer, [])
    if patch_tests and patch_tests[0].result == PatchTest.Result.FAILED:
        latest = patch_tests[0]
        message = _("The last patch test (%(product)s, %(date)s) had a reaction.") % {
            "product": latest.product,
            "date": latest.tested_on.isoformat(),
        }
        warnings.append(SafetyWarning("patch_test_failed", message))
    return warnings


def _card_reads(*, show_health: bool) -> dict:
    """customers' own parts of the card's statement: the client's preferred stylist, home location
    and referrer, tags, and for those who read health the newest formulas (with stylist, newer
    version and shades) and patch tests."""
    reads = {
        "preferred_staff": obj(id="preferred_staff_id", display_name="preferred_staff__display_name"),
        "home_location": obj(id="home_location_id", name="home_location__name"),
        "referred_by": obj(id="referred_by_id", name="referred_by__name"),
        "tags": rows(Tag.objects.filter(customers=OuterRef("pk")), id="pk", name="name", colour="colour"),
    }
    if show_health:
        formulas = ColourFormula.objects.filter(customer=OuterRef("pk")).order_by("-created_at", "-pk")
        reads["formulas"] = rows(
            formulas[:CARD_FORMULAS],
            id="pk",
            brand="brand",
            line="line",
            developer="developer",
            mix_ratio="mix_ratio",
            zones="zones",
            processing_minutes="processing_minutes",
            result_notes="result_notes",
            version="version",
            created_at="created_at",
            stylist=obj(id="stylist_id", display_name="stylist__display_name"),
            superseded_by=obj(id="superseded_by__id", version="superseded_by__version"),
            shade_list=rows(
                FormulaShade.objects.filter(formula=OuterRef("pk")).order_by("pk"),
                shade="shade",
                grams="grams",
            ),
        )
        tests = PatchTest.objects.filter(customer=OuterRef("pk")).order_by("-tested_on", "-pk")
        reads["patch_tests"] = rows(
            tests[:CARD_PATCH_TESTS],
            id="pk",
            product="product",
            tested_on="tested_on",
            result="result",
            valid_until="valid_until",
        )
    return reads


def _card_shape(user) -> tuple:
    """Everything the card's statement depends on besides the client and the time: who asks
    (permissions, role, staff record: the locations they act at are read in SQL by its id), the
    time zone of "today", and what the other apps registered (salon_crm.rows.read_row)."""
    staff = staff_of(user)
    return (
        user.pk,
        user.is_active,
        user.is_superuser,
        frozenset() if user.is_superuser else frozenset(user.get_all_permissions()),
        (staff.pk, staff.role, staff.is_active) if staff else None,
        timezone.get_current_timezone_name(),
        tuple(registered_panel_reads().items()),
        tuple(registered_timeline_reads().items()),
    )


def customer_card(*, pk: int, user) -> CustomerCard:
    """Everything the card shows, in one statement whatever the history size: the client's row
    with every list and figure as a subquery - customers' own, each card panel's and each
    timeline source's reads (customers.card, customers.timeline), compiled once per kind of user
    (salon_crm.rows.read_row). A missing client is a 404. (A stylist's "is this my client" check
    for writing health may add a query or two: customers.privacy.can_write_health.)"""
    now = timezone.now()
    show_health = can_read_health(user)

    def groups() -> dict:
        return {
            ("customers", ""): _card_reads(show_health=show_health),
            **{("card", key): reads for key, reads in panel_reads_for(user=user, now=NOW).items()},
            **{
                ("timeline", key): reads
                for key, reads in timeline_reads_for(user=user, limit=CARD_TIMELINE).items()
            },
        }

    customer, data = read_row(Customer, key=("card", *_card_shape(user)), pk=pk, now=now, groups=groups)
    if customer is None:
        raise Http404(f"No {Customer._meta.object_name} matches the given query.")
    own = data.pop(("customers", ""))
    for field in ("preferred_staff", "home_location", "referred_by"):
        related = Customer._meta.get_field(field)
        customer._state.fields_cache[related.cache_name] = build(related.related_model, own[field])
    patch_tests = build_all(PatchTest, own.get("patch_tests"))
    formulas = build_all(ColourFormula, own.get("formulas"))
    for formula in formulas:
        formula.shade_list = build_all(FormulaShade, formula.shade_list)
    return CustomerCard(
        customer=customer,
        tags=build_all(Tag, own["tags"]),
        warnings=_card_warnings(customer, patch_tests) if show_health else [],
        show_health=show_health,
        can_write_health=can_write_health(user, customer),
        formulas=formulas,
        patch_tests=patch_tests,
        timeline=timeline_for(
            customer=customer,
            user=user,
            limit=CARD_TIMELINE,
            data={key: found for (part, key), found in data.items() if part == "timeline"},
        ),
        panels=panels_for(
            customer=customer,
            user=user,
            now=now,
            data={key: found for (part, key), found in data.items() if part == "card"},
        ),
    )
