"""Issue 8, item 6 (a) and (e): only users with customers.add_tag create tags (others use the
existing ones, and an unknown name is a field error naming it); a stylist records colour
formulas in their own name only (a colleague's name would hand that colleague health-write
rights on the client). Each refusal changes nothing."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from customers import services
from customers.models import ColourFormula, Customer, FormulaShade, Tag
from customers.privacy import can_write_health
from tests.accounts.factories import StaffMemberFactory
from tests.customers.factories import CustomerFactory, FormulaFactory, TagFactory

pytestmark = pytest.mark.django_db


def _tags():
    return (
        sorted(Tag.objects.values_list("pk", "name")),
        sorted(Customer.tags.through.objects.values_list("customer_id", "tag_id")),
        sorted(Customer.objects.values_list("pk", "name")),
    )


def _formulas():
    return (
        sorted(ColourFormula.objects.values_list("pk", "stylist_id", "brand", "version")),
        sorted(FormulaShade.objects.values_list("pk", "formula_id", "shade")),
    )


# ---- (a) tags ----------------------------------------------------------------------------------------


def test_reception_cannot_create_tags_through_the_api(api_as, reception):
    vip = TagFactory(name="VIP")
    client = api_as(reception)
    before = _tags()
    response = client.post(
        "/api/v1/customers/",
        {"name": "王芳", "phone": "13800138111", "tags": ["VIP", "spam1", "spam2"]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "tags": ["Unknown tag: spam1, spam2. Choose an existing tag; a manager can add new ones."]
    }
    assert _tags() == before
    customer = CustomerFactory(name="李雷")
    before = _tags()
    response = client.patch(f"/api/v1/customers/{customer.pk}/", {"tags": ["VIP", "new-one"]}, format="json")
    assert response.status_code == 400
    assert _tags() == before
    # Existing tags are fine.
    response = client.patch(f"/api/v1/customers/{customer.pk}/", {"tags": ["VIP"]}, format="json")
    assert response.status_code == 200
    assert list(customer.tags.all()) == [vip]


def test_a_manager_with_the_tag_permission_creates_tags(api_as, manager):
    response = api_as(manager).post(
        "/api/v1/customers/", {"name": "王芳", "phone": "13800138111", "tags": ["新客"]}, format="json"
    )
    assert response.status_code == 201
    assert list(Tag.objects.values_list("name", flat=True)) == ["新客"]


def test_the_service_refuses_unknown_tags_for_users_without_the_permission(reception, stylist):
    customer = CustomerFactory(name="李雷")
    before = _tags()
    with pytest.raises(ValidationError) as exc:
        services.customer_update(
            user=reception.user, customer=customer, data={"tags": ["made-up"], "notes": "x"}
        )
    assert exc.value.message_dict == {
        "tags": ["Unknown tag: made-up. Choose an existing tag; a manager can add new ones."]
    }
    with pytest.raises(ValidationError):
        services.customer_create(user=reception.user, name="韩梅梅", phone="13800138222", tags=["made-up"])
    assert _tags() == before
    # The system (imports, commands) still creates them.
    services.customer_update(user=None, customer=customer, data={"tags": ["imported"]})
    assert list(customer.tags.values_list("name", flat=True)) == ["imported"]


# ---- (e) formulas in someone else's name ----------------------------------------------------------


@pytest.fixture
def client_of_stylist(stylist):
    return CustomerFactory(name="陈静", preferred_staff=stylist)


def test_a_stylist_cannot_write_a_formula_in_a_colleagues_name(stylist, other_stylist, client_of_stylist):
    assert can_write_health(other_stylist.user, client_of_stylist) is False
    before = _formulas()
    with pytest.raises(ValidationError) as exc:
        services.formula_create(
            customer=client_of_stylist,
            stylist=other_stylist,
            user=stylist.user,
            brand="Wella",
            shades=[("7/1", 30)],
        )
    assert exc.value.message_dict == {"stylist": ["You can only record formulas as yourself."]}
    assert _formulas() == before
    assert can_write_health(other_stylist.user, client_of_stylist) is False


def test_a_stylist_writes_in_their_own_name(stylist, client_of_stylist):
    formula = services.formula_create(
        customer=client_of_stylist, stylist=stylist, user=stylist.user, brand="Wella", shades=[("7/1", 30)]
    )
    assert formula.stylist == stylist


def test_a_stylist_cannot_move_a_formula_to_a_colleague(stylist, other_stylist, client_of_stylist):
    formula = FormulaFactory(customer=client_of_stylist, stylist=stylist)
    before = _formulas()
    with pytest.raises(ValidationError):
        services.formula_correct(formula=formula, user=stylist.user, stylist=other_stylist)
    assert _formulas() == before


def test_a_manager_may_write_up_a_colleagues_formula_but_not_another_locations(
    manager, stylist, other_location, client_of_stylist
):
    formula = services.formula_create(
        customer=client_of_stylist, stylist=stylist, user=manager.user, brand="Wella", shades=[("7/1", 30)]
    )
    assert formula.stylist == stylist
    far = StaffMemberFactory(user__username="stylist.xuhui", role="stylist", locations=[other_location])
    before = _formulas()
    with pytest.raises(ValidationError) as exc:
        services.formula_create(
            customer=client_of_stylist, stylist=far, user=manager.user, brand="Wella", shades=[("7/1", 30)]
        )
    assert exc.value.message_dict == {"stylist": ["Choose a stylist who works at one of your locations."]}
    assert _formulas() == before


def test_api_refuses_a_formula_in_a_colleagues_name(api_as, stylist, other_stylist, client_of_stylist):
    before = _formulas()
    response = api_as(stylist).post(
        f"/api/v1/customers/{client_of_stylist.pk}/formulas/",
        {"stylist": other_stylist.pk, "brand": "Wella", "shades": [{"shade": "7/1", "grams": "30"}]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"stylist": ["You can only record formulas as yourself."]}
    assert _formulas() == before
    formula = FormulaFactory(customer=client_of_stylist, stylist=stylist)
    before = _formulas()
    response = api_as(stylist).patch(
        f"/api/v1/formulas/{formula.pk}/", {"stylist": other_stylist.pk}, format="json"
    )
    assert response.status_code == 400
    assert _formulas() == before


def test_formula_page_offers_a_stylist_only_themselves(client_as, stylist, other_stylist, client_of_stylist):
    client = client_as(stylist)
    url = reverse("customers:formula_create", args=[client_of_stylist.pk])
    page = client.get(url)
    assert list(page.context["form"].fields["stylist"].queryset) == [stylist]
    before = _formulas()
    response = client.post(
        url,
        {
            "stylist": other_stylist.pk,
            "brand": "Wella",
            "shades-TOTAL_FORMS": "1",
            "shades-INITIAL_FORMS": "0",
            "shades-0-shade": "7/1",
            "shades-0-grams": "30",
        },
    )
    assert response.status_code == 200
    assert "stylist" in response.context["form"].errors
    assert _formulas() == before
