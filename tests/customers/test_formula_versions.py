"""A formula saved from the service record for a brand and base shade the client already has
becomes the next version of that formula, not a second "v1" (issue 9, item 4):
customers.services.formulas.formula_create_or_version, used by service_record_write."""

from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from appointments.services import BookingItem, FormulaIn, appointment_book, service_record_write
from customers.models import ColourFormula
from customers.services import ShadeInput
from customers.services.formulas import formula_create_or_version
from tests.appointments import fixtures_core
from tests.appointments.fixtures_core import DAY
from tests.customers.factories import FormulaFactory, PatchTestFactory

salon = fixtures_core.salon
pytestmark = pytest.mark.django_db


@pytest.fixture
def colour_item(salon, stylist, monkeypatch):
    """Colour for 张三 with the stylist at 10:00 on DAY, and it is noon that day (the record is
    written on its day); a valid patch test on file."""
    noon = salon.at(12).astimezone(UTC)
    monkeypatch.setattr(timezone, "now", lambda: noon)
    PatchTestFactory(customer=salon.customer, tested_on=DAY - timedelta(days=7))
    appointment = appointment_book(
        customer=salon.customer,
        location=salon.location,
        items=[BookingItem(service=salon.colour, staff=stylist, start=salon.at(10))],
        source="front_desk",
        booked_by=None,
    )
    return appointment.items.get()


def _last_visits_formula(salon, stylist, shades=(("7/1", 30), ("8/0", 15)), brand="Wella"):
    """A formula written at the last visit, six weeks ago: locked (corrections make versions)."""
    return FormulaFactory(
        customer=salon.customer,
        stylist=stylist,
        brand=brand,
        line="Koleston Perfect",
        developer="6% / 20 vol",
        processing_minutes=35,
        created_at=timezone.now() - timedelta(days=42),
        shades=list(shades),
    )


def _write(item, stylist, brand="Wella", shades=(("7/1", "35"), ("8/0", "10")), **kw):
    return service_record_write(
        item=item,
        by=stylist.user,
        notes="roots only",
        result=kw.pop("result", "even, a little warm"),
        formula=FormulaIn(
            brand=brand,
            shades=[ShadeInput(s, Decimal(g)) for s, g in shades],
            developer=kw.pop("developer", ""),
            processing_minutes=kw.pop("minutes", None),
        ),
    )


def _shades(formula):
    return [(s.shade, s.grams) for s in formula.shades.order_by("pk")]


def test_same_brand_and_base_shade_is_the_next_version(salon, stylist, colour_item):
    # given 张三's Wella 7/1 + 8/0 from six weeks ago
    v1 = _last_visits_formula(salon, stylist)
    # when the stylist records today's colour: Wella (typed in lower case) 7/1 with other grams
    record = _write(colour_item, stylist, brand="wella ")
    # then it is version 2 of that formula, pointing at version 1, which is kept unchanged
    v2 = record.formula
    assert (v2.version, v2.supersedes, v2.brand) == (2, v1, "Wella")
    assert _shades(v2) == [("7/1", Decimal("35.0")), ("8/0", Decimal("10.0"))]
    assert _shades(v1) == [("7/1", Decimal("30.0")), ("8/0", Decimal("15.0"))]
    # what was not restated carries over; the result is this visit's
    assert (v2.line, v2.developer, v2.processing_minutes, v2.result_notes) == (
        "Koleston Perfect",
        "6% / 20 vol",
        35,
        "even, a little warm",
    )
    assert ColourFormula.objects.filter(customer=salon.customer).count() == 2


def test_the_card_shows_the_new_version_and_the_old_one_replaced(client_as, salon, stylist, colour_item):
    _last_visits_formula(salon, stylist)
    _write(colour_item, stylist)
    html = client_as(stylist).get(reverse("customers:detail", args=[salon.customer.pk])).content.decode()
    assert ">v2<" in html and "replaced by v2" in html
    assert html.count(">v1<") == 1  # one lineage, not a second "v1"


def test_a_toner_added_keeps_the_lineage(salon, stylist, colour_item):
    _last_visits_formula(salon, stylist)
    v2 = _write(colour_item, stylist, shades=(("7/1", "30"), ("8/0", "15"), ("0/88", "5"))).formula
    assert v2.version == 2


def test_another_base_shade_or_brand_is_a_new_formula(salon, stylist, colour_item):
    _last_visits_formula(salon, stylist)
    darker = _write(colour_item, stylist, shades=(("6/0", "40"),)).formula
    assert (darker.version, darker.supersedes) == (1, None)
    other_brand = formula_create_or_version(
        customer=salon.customer, stylist=stylist, user=stylist.user, brand="Schwarzkopf", shades=[("7/1", 30)]
    )
    assert (other_brand.version, other_brand.supersedes) == (1, None)


def test_the_newest_version_is_the_one_followed(salon, stylist, colour_item):
    # given a lineage already at version 2 (v1 replaced)
    v1 = _last_visits_formula(salon, stylist)
    v2 = _last_visits_formula(salon, stylist)
    v2.version, v2.supersedes = 2, v1
    v2.save()
    # then today's formula is version 3, after version 2
    v3 = _write(colour_item, stylist).formula
    assert (v3.version, v3.supersedes) == (3, v2)


def test_the_same_visit_saved_twice_corrects_its_formula_in_place(salon, stylist, colour_item):
    # within 24 hours a formula is corrected in place (formula_correct's rule): saving the record
    # again does not make version after version
    first = _write(colour_item, stylist).formula
    again = _write(colour_item, stylist, shades=(("7/1", "40"),), result="even").formula
    assert again.pk == first.pk and again.version == 1
    assert (_shades(again), again.result_notes) == ([("7/1", Decimal("40.0"))], "even")
    assert ColourFormula.objects.filter(customer=salon.customer).count() == 1


def test_a_stylist_who_may_not_write_health_versions_nothing(salon, stylist, other_stylist, colour_item):
    v1 = _last_visits_formula(salon, stylist)
    with pytest.raises(PermissionDenied):
        formula_create_or_version(
            customer=salon.customer,
            stylist=other_stylist,
            user=other_stylist.user,
            brand="Wella",
            shades=[("7/1", 30)],
        )
    assert list(ColourFormula.objects.filter(customer=salon.customer)) == [v1]
