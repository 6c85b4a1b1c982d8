"""Reads of client files shared by pages, API and commands."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db.models import Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from accounts.access import locations_for, sees_all_locations
from accounts.models import Location
from customers.card import CardPanel, panels_for
from customers.models import ColourFormula, ConsentRecord, Customer, FormulaShade, PatchTest
from customers.privacy import can_read_health, can_write_health
from customers.safety import SafetyWarning, customer_safety_warnings
from customers.timeline import TimelineEvent, timeline_for

CARD_FORMULAS = 20  # newest formula versions on the card; older ones stay in the export
CARD_PATCH_TESTS = 10
CARD_CONSENT = 10


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


def formulas_for(*, customer: Customer, limit: int = CARD_FORMULAS) -> list[ColourFormula]:
    """Newest first, with shades, stylist and the newer version (if any): three queries."""
    return list(
        ColourFormula.objects.filter(customer=customer)
        .select_related("stylist", "superseded_by")
        .prefetch_related(Prefetch("shades", queryset=FormulaShade.objects.order_by("pk")))
        .order_by("-created_at", "-pk")[:limit]
    )


def formula_get(*, customer: Customer, pk: int) -> ColourFormula:
    return get_object_or_404(
        ColourFormula.objects.select_related("customer", "stylist").prefetch_related("shades"),
        customer=customer,
        pk=pk,
    )


def patch_tests_for(*, customer: Customer, limit: int = CARD_PATCH_TESTS) -> list[PatchTest]:
    return list(
        PatchTest.objects.filter(customer=customer)
        .select_related("performed_by")
        .order_by("-tested_on", "-pk")[:limit]
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
    warnings: list[SafetyWarning]
    show_health: bool
    can_write_health: bool
    formulas: list[ColourFormula]
    patch_tests: list[PatchTest]
    consent_records: list[ConsentRecord]
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


def customer_card(*, customer: Customer, user) -> CustomerCard:
    """Everything the card shows, in a constant number of queries whatever the history size."""
    show_health = can_read_health(user)
    patch_tests = patch_tests_for(customer=customer) if show_health else []
    return CustomerCard(
        customer=customer,
        warnings=_card_warnings(customer, patch_tests) if show_health else [],
        show_health=show_health,
        can_write_health=can_write_health(user, customer),
        formulas=formulas_for(customer=customer) if show_health else [],
        patch_tests=patch_tests,
        consent_records=list(
            ConsentRecord.objects.filter(customer=customer)
            .select_related("recorded_by")
            .order_by("-recorded_at", "-pk")[:CARD_CONSENT]
        ),
        timeline=timeline_for(customer=customer, user=user),
        panels=panels_for(customer=customer, user=user),
    )
