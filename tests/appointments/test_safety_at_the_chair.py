"""Issue 9, item 1: a client's safety warnings reach the stylist where the work is done: the
day calendar's blocks, the stylist's day, Start (a reason at the chair, recorded), the
appointment dialog once the client has arrived, the service record (a colour formula without a
valid patch test needs a reason), the Today panel and the API."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from appointments.models import AppointmentStatus, ServiceRecord
from appointments.services import (
    BookingItem,
    FormulaIn,
    SafetyWarningsError,
    appointment_book,
    appointment_check_in,
    appointment_start,
    service_record_write,
)
from customers.models import ColourFormula, SafetyOverride
from customers.services import ShadeInput
from tests.appointments import fixtures_core
from tests.appointments.factories import CustomerFactory, ServiceFactory
from tests.appointments.fixtures_core import DAY
from tests.appointments.test_calendar_views import QUERIES_DAY
from tests.customers.factories import PatchTestFactory

salon = fixtures_core.salon
on_the_day = fixtures_core.on_the_day
pytestmark = pytest.mark.django_db


@pytest.fixture
def permanent(salon):
    """A colour that needs a valid patch test (the fixture salon's "Colour" does not)."""
    return ServiceFactory(
        name="Permanent colour", duration_minutes=60, requires_patch_test=True, locations=[salon.location]
    )


@pytest.fixture
def ppd_client():
    """A PPD allergy, and the last patch test had a reaction."""
    client = CustomerFactory(name="王红", allergies="PPD (hair dye)")
    PatchTestFactory(customer=client, product="Koleston 7/1", result="failed")
    return client


def _book(salon, customer, service, hour, *, staff=None, reason="booked at the desk", by=None):
    return appointment_book(
        customer=customer,
        location=salon.location,
        items=[BookingItem(service=service, staff=staff or salon.stylist, start=salon.at(hour))],
        source="front_desk",
        booked_by=by,
        override_reason=reason,
    )


@pytest.fixture
def coloured(salon, reception, ppd_client, permanent, on_the_day):
    """王红 booked for the permanent colour at 10:00 on DAY with the stylist, checked in (the
    desk gave its reasons at booking and at check-in). It is 08:00 on DAY."""
    appointment = _book(salon, ppd_client, permanent, 10, by=reception.user)
    return appointment_check_in(appointment=appointment, by=reception.user, override_reason="checked at desk")


# ---- the day calendar ---------------------------------------------------------------------------


def test_calendar_block_of_a_client_with_warnings_has_a_labelled_badge(client_as, salon, reception, coloured):
    # given 王红 (allergy, failed patch test) at 10:00 and a client without warnings at 13:00
    appointment_book(
        customer=CustomerFactory(name="李四"),
        location=salon.location,
        items=[BookingItem(service=salon.cut, staff=salon.stylist, start=salon.at(13))],
        source="front_desk",
        booked_by=None,
    )
    # when the desk opens the day
    html = client_as(reception).get(reverse("appointments:day"), {"date": DAY.isoformat()}).content.decode()
    # then only 王红's block carries the badge, an icon with words (not colour alone)
    assert html.count('class="appt-safety"') == 1
    block = html[html.index(f'data-appointment="{coloured.pk}"') :]
    block = block[: block.index("</a>")]
    label = "Safety check needed: Allergy on file; The last patch test had a reaction"
    assert f'title="{label}"' in block and f'<span class="visually-hidden">{label}</span>' in block
    assert "data-safety" in block
    # and never the client's own words (the calendar does not decrypt them)
    assert "PPD" not in html


@pytest.mark.parametrize(
    ("patch_test", "code_label"),
    [
        (None, "No patch test on file"),
        ({"result": "pending"}, "The patch test has no result yet"),
        (
            {"tested_on": DAY - timedelta(days=400), "valid_until": DAY - timedelta(days=1)},
            "The patch test has expired",
        ),
    ],
)
def test_calendar_marks_a_missing_pending_or_expired_patch_test_for_the_booked_service_only(
    client_as, salon, reception, permanent, patch_test, code_label
):
    customer = CustomerFactory(name="赵六")
    if patch_test is not None:
        PatchTestFactory(customer=customer, **patch_test)
    _book(salon, customer, permanent, 10, by=reception.user)
    # a haircut does not need a patch test: the same client's cut is not marked
    _book(salon, customer, salon.cut, 14, staff=salon.other_stylist, by=reception.user, reason="")
    html = client_as(reception).get(reverse("appointments:day"), {"date": DAY.isoformat()}).content.decode()
    assert html.count('class="appt-safety"') == 1
    assert f"Safety check needed: {code_label}" in html


def test_calendar_marks_without_decrypting_and_in_the_same_number_of_queries(
    client_as, salon, reception, permanent, monkeypatch, django_assert_num_queries
):
    # given 20 clients with an allergy booked for colour, each with a failed patch test
    for n in range(20):
        customer = CustomerFactory(allergies=f"allergy {n}")
        PatchTestFactory(customer=customer, result="failed")
        staff = salon.stylist if n % 2 == 0 else salon.other_stylist
        _book(salon, customer, permanent, 9 + n // 2, staff=staff, by=reception.user)
    decrypted = []
    from salon_crm import crypto

    real = crypto.decrypt
    monkeypatch.setattr(crypto, "decrypt", lambda value: decrypted.append(value) or real(value))
    client = client_as(reception)
    # when the day is shown: the same query count as a day without warnings
    with django_assert_num_queries(QUERIES_DAY):
        response = client.get(reverse("appointments:day"), {"date": DAY.isoformat()})
    # then every block is marked, and no health field was decrypted for it
    assert response.content.decode().count('class="appt-safety"') == 20
    assert [v for v in decrypted if v] == []


def test_a_role_that_may_not_read_health_sees_only_safety_check_needed(
    client_as, salon, reception, coloured, monkeypatch
):
    monkeypatch.setattr("appointments.views.calendar.can_read_health", lambda user: False)
    html = client_as(reception).get(reverse("appointments:day"), {"date": DAY.isoformat()}).content.decode()
    assert 'title="Safety check needed"' in html
    assert "Allergy on file" not in html


# ---- the stylist's day and Start ---------------------------------------------------------------


def test_my_day_shows_the_warning_text_to_the_stylist(client_as, salon, coloured):
    html = (
        client_as(salon.stylist)
        .get(reverse("appointments:my_day"), {"date": DAY.isoformat()})
        .content.decode()
    )
    banner = html[html.index(f'data-safety-for="{coloured.items.get().pk}"') :]
    banner = banner[: banner.index("</div>\n")]
    assert "Allergy on file: PPD (hair dye)" in html
    assert "The last patch test (Koleston 7/1) had a reaction." in html
    assert 'class="safety-badge"' in html and "has-safety" in html
    # Start asks for a reason first: a <details> holding the reason field, not a bare submit
    assert f'id="start-reason-{coloured.items.get().pk}"' in html
    assert 'class="start-confirm"' in html
    assert banner  # the banner is there for this item


def test_my_day_without_health_rights_shows_the_marker_without_the_text(
    client_as, salon, coloured, monkeypatch
):
    monkeypatch.setattr("appointments.views.stylist.can_read_health", lambda user: False)
    html = (
        client_as(salon.stylist)
        .get(reverse("appointments:my_day"), {"date": DAY.isoformat()})
        .content.decode()
    )
    assert "Safety check needed" in html
    assert "PPD" not in html and "Koleston" not in html


def test_start_without_a_reason_is_refused_and_keeps_the_confirmation_open(client_as, salon, coloured):
    item = coloured.items.get()
    overrides_before = SafetyOverride.objects.count()
    response = client_as(salon.stylist).post(reverse("appointments:my_day_start", args=[item.pk]))
    # back to the same day, the confirmation of this item open
    assert response.status_code == 302
    assert (
        response["Location"]
        == f"{reverse('appointments:my_day')}?date={DAY.isoformat()}&confirm={item.pk}#item-{item.pk}"
    )
    coloured.refresh_from_db()
    assert coloured.status == AppointmentStatus.ARRIVED
    assert SafetyOverride.objects.count() == overrides_before
    html = client_as(salon.stylist).get(response["Location"]).content.decode()
    assert '<details class="start-confirm" open' in html
    assert "Confirm the safety warnings: give a reason to go ahead." in html


def test_start_with_a_reason_is_recorded_with_who_and_when(client_as, salon, coloured):
    item = coloured.items.get()
    response = client_as(salon.stylist).post(
        reverse("appointments:my_day_start", args=[item.pk]),
        {"override_reason": "PPD-free colour, client agreed"},
    )
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('appointments:my_day')}?date={DAY.isoformat()}"
    coloured.refresh_from_db()
    assert coloured.status == AppointmentStatus.IN_SERVICE
    override = SafetyOverride.objects.get(context="start")
    assert (override.customer, override.user, override.reason) == (
        coloured.customer,
        salon.stylist.user,
        "PPD-free colour, client agreed",
    )
    # when: the model's default reads the real clock, not the test's fixed one
    assert abs(override.created_at - datetime.now(UTC)) < timedelta(minutes=1)
    assert [w["code"] for w in override.warnings] == ["allergy", "patch_test_failed"]


def test_start_asks_again_even_after_the_desk_overrode_at_check_in(salon, reception, coloured):
    # the desk's override at check-in does not count for the chair
    assert SafetyOverride.objects.filter(context="check-in").count() == 1
    with pytest.raises(SafetyWarningsError) as refused:
        appointment_start(appointment=coloured, by=salon.stylist.user)
    assert [w.code for w in refused.value.warnings] == ["allergy", "patch_test_failed"]
    assert not SafetyOverride.objects.filter(context="start").exists()


def test_start_of_a_client_without_warnings_needs_no_reason(client_as, salon, reception, on_the_day):
    appointment = _book(salon, CustomerFactory(), salon.cut, 10, by=reception.user, reason="")
    appointment_check_in(appointment=appointment, by=reception.user)
    item = appointment.items.get()
    html = (
        client_as(salon.stylist)
        .get(reverse("appointments:my_day"), {"date": DAY.isoformat()})
        .content.decode()
    )
    assert "start-confirm" not in html and "safety-badge" not in html
    client_as(salon.stylist).post(reverse("appointments:my_day_start", args=[item.pk]))
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.IN_SERVICE
    assert not SafetyOverride.objects.exists()


@pytest.mark.parametrize("count", [2, 8])
def test_my_day_reads_the_warnings_in_constant_queries(
    client_as, salon, reception, permanent, on_the_day, count, django_assert_num_queries
):
    for n in range(count):
        customer = CustomerFactory(allergies=f"allergy {n}")
        PatchTestFactory(customer=customer, result="failed" if n % 2 else "passed")
        _book(salon, customer, permanent, 9 + n, by=reception.user)
    client = client_as(salon.stylist)
    # 10 queries: session, user, user and group permissions, staff member (me), current
    # location, the day's items with their safety flags, the flagged clients' health fields,
    # their latest patch tests, the header's location list; the same for 2 items or 8
    with django_assert_num_queries(10):
        response = client.get(reverse("appointments:my_day"), {"date": DAY.isoformat()})
    assert response.content.decode().count("data-safety-for=") == count


# ---- the appointment dialog and the API --------------------------------------------------------


def test_dialog_shows_warnings_once_arrived_and_start_asks_for_a_reason(
    client_as, salon, reception, coloured
):
    client = client_as(reception)
    html = client.get(reverse("appointments:detail", args=[coloured.pk])).content.decode()
    assert "Allergy on file: PPD (hair dye)" in html and 'id="start-reason"' in html
    url = reverse("appointments:action", args=[coloured.pk, "start"])
    refused = client.post(url)
    assert refused.status_code == 200
    assert "Give a reason to go ahead despite the warnings." in refused.content.decode()
    coloured.refresh_from_db()
    assert coloured.status == AppointmentStatus.ARRIVED
    assert client.post(url, {"override_reason": "stylist confirmed PPD-free"}).status_code == 204
    coloured.refresh_from_db()
    assert coloured.status == AppointmentStatus.IN_SERVICE
    assert SafetyOverride.objects.get(context="start").user == reception.user
    # in service, the dialog still shows them
    html = client.get(reverse("appointments:detail", args=[coloured.pk])).content.decode()
    assert "Allergy on file: PPD (hair dye)" in html


def test_api_start_needs_the_override_reason(api_as, salon, coloured):
    api = api_as(salon.stylist)
    refused = api.post(f"/api/v1/appointments/{coloured.pk}/start/", {}, format="json")
    assert refused.status_code == 400
    assert refused.json()["code"] == "safety_warnings"
    assert [w["code"] for w in refused.json()["warnings"]] == ["allergy", "patch_test_failed"]
    started = api.post(
        f"/api/v1/appointments/{coloured.pk}/start/", {"override_reason": "PPD-free colour"}, format="json"
    )
    assert (started.status_code, started.json()["status"]) == (200, "in_service")
    assert SafetyOverride.objects.get(context="start").user == salon.stylist.user


# ---- the service record -------------------------------------------------------------------------


def _record_post(**extra):
    return {"notes": "roots", "result": "even", **extra}


FORMULA = {"formula_brand": "Wella", "formula_shades": "7/1 30", "formula_developer": "6%"}


def test_service_record_page_shows_the_red_banner_and_asks_a_reason_for_a_formula(client_as, salon, coloured):
    appointment_start(appointment=coloured, by=salon.stylist.user, override_reason="PPD-free")
    item = coloured.items.get()
    client = client_as(salon.stylist)
    url = reverse("appointments:service_record", args=[item.pk])
    html = client.get(url).content.decode()
    assert 'id="safety-warnings"' in html and "Allergy on file: PPD (hair dye)" in html
    assert 'id="formula-safety"' in html and 'name="override_reason"' in html
    # a formula without a reason: refused, nothing saved
    response = client.post(url, _record_post(**FORMULA))
    assert response.status_code == 200
    assert "Give a reason to record colour without a valid patch test." in response.content.decode()
    assert not ServiceRecord.objects.exists() and not ColourFormula.objects.exists()
    assert not SafetyOverride.objects.filter(context="service record").exists()
    # with a reason: saved, the override recorded, back to the item's own day
    response = client.post(url, _record_post(**FORMULA, override_reason="PPD-free Koleston Naturals"))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('appointments:my_day')}?date={DAY.isoformat()}"
    assert ServiceRecord.objects.get().formula == ColourFormula.objects.get()
    override = SafetyOverride.objects.get(context="service record")
    assert (override.user, [w["code"] for w in override.warnings]) == (
        salon.stylist.user,
        ["patch_test_failed"],
    )


def test_a_record_without_a_formula_needs_no_reason(client_as, salon, coloured):
    appointment_start(appointment=coloured, by=salon.stylist.user, override_reason="PPD-free")
    item = coloured.items.get()
    response = client_as(salon.stylist).post(
        reverse("appointments:service_record", args=[item.pk]), _record_post()
    )
    assert response.status_code == 302
    assert ServiceRecord.objects.get().notes == "roots"


def test_formula_rule_follows_the_catalogue_but_a_reaction_always_counts(salon, reception, on_the_day):
    # the fixture salon's "Colour" needs no patch test: a missing one does not stop a formula...
    no_test = CustomerFactory()
    appointment = _book(salon, no_test, salon.colour, 10, by=reception.user, reason="")
    item = appointment.items.get()
    formula = FormulaIn(brand="Wella", shades=[ShadeInput("7/1", 30)])
    service_record_write(item=item, by=salon.stylist.user, notes="", result="", formula=formula)
    # ...but a reaction on file does, whatever the service
    reacted = CustomerFactory()
    PatchTestFactory(customer=reacted, result="failed")
    appointment = _book(salon, reacted, salon.colour, 13, by=reception.user, reason="")
    with pytest.raises(ValidationError):
        service_record_write(
            item=appointment.items.get(), by=salon.stylist.user, notes="", result="", formula=formula
        )
    assert ServiceRecord.objects.count() == 1


# ---- the Today panel ------------------------------------------------------------------------------


def test_today_panel_marks_clients_with_warnings(client_as, salon, reception, coloured):
    for who in (reception, salon.stylist):
        html = client_as(who).get(reverse("accounts:home")).content.decode()
        panel = html[html.index('id="appointments-panel"') :]
        assert panel.count('class="safety-badge"') == 1, who
