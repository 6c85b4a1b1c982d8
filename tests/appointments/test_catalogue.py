from decimal import Decimal

import pytest
from django.urls import reverse

from appointments.models import Resource, Service, WorkingHours
from tests.appointments.factories import ResourceFactory, ServiceFactory

pytestmark = pytest.mark.django_db


def test_settings_page_links_to_catalogue_for_managers(client_as, manager):
    page = client_as(manager).get(reverse("accounts:settings")).content.decode()
    assert reverse("appointments:catalogue_services") in page
    assert reverse("appointments:catalogue_time-off") in page


@pytest.mark.parametrize("kind", ["services", "categories", "products", "resources", "hours", "time-off"])
def test_lists_render_for_manager_and_are_403_for_reception(client_as, manager, reception, kind):
    url = reverse(f"appointments:catalogue_{kind}")
    assert client_as(manager).get(url).status_code == 200
    assert client_as(reception).get(url).status_code == 403


def test_create_service_with_locations(client_as, manager, location):
    from tests.appointments.factories import ServiceCategoryFactory

    category = ServiceCategoryFactory(name="Hair")
    response = client_as(manager).post(
        reverse("appointments:catalogue_services_new"),
        {
            "category": category.pk,
            "name": "Bob cut",
            "duration_minutes": 45,
            "buffer_after_minutes": 5,
            "price": "168.00",
            "locations": [location.pk],
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    service = Service.objects.get(name="Bob cut")
    assert (service.duration_minutes, service.price, list(service.locations.all())) == (
        45,
        Decimal("168.00"),
        [location],
    )


def test_edit_keeps_locations_the_manager_cannot_see(client_as, manager, location, other_location):
    service = ServiceFactory(name="Cut", locations=[location, other_location])
    response = client_as(manager).post(
        reverse("appointments:catalogue_services_edit", args=[service.pk]),
        {
            "category": service.category_id,
            "name": "Cut",
            "duration_minutes": 50,
            "buffer_after_minutes": 0,
            "price": "210.00",
            "locations": [location.pk],
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    service.refresh_from_db()
    assert service.price == Decimal("210.00")
    assert set(service.locations.all()) == {location, other_location}


def test_bad_input_is_a_form_error_and_changes_nothing(client_as, manager, location, stylist):
    response = client_as(manager).post(
        reverse("appointments:catalogue_hours_new"),
        {"staff": stylist.pk, "location": location.pk, "weekday": 0, "start": "18:00", "end": "09:00"},
    )
    assert response.status_code == 200
    assert WorkingHours.objects.count() == 0
    assert "catalogue-form" in response.content.decode()


def test_other_locations_resource_is_404(client_as, manager, other_location):
    resource = ResourceFactory(location=other_location, name="Room X")
    url = reverse("appointments:catalogue_resources_edit", args=[resource.pk])
    assert client_as(manager).get(url).status_code == 404
    assert (
        client_as(manager)
        .post(url, {"location": other_location.pk, "name": "Hacked", "type": "room"})
        .status_code
        == 404
    )
    assert Resource.objects.get().name == "Room X"
