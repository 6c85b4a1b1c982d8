import pytest
from django.urls import reverse

from tests.accounts.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_token_auth_roundtrip(api_client, reception, location):
    # when
    response = api_client.post(
        "/api/v1/auth/token/", {"username": "reception", "password": PASSWORD}, format="json"
    )
    # then
    assert response.status_code == 200
    token = response.json()["token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    me = api_client.get("/api/v1/me/").json()
    assert me["username"] == "reception"
    assert me["role"] == "receptionist"
    assert [loc["code"] for loc in me["locations"]] == ["jingan"]


def test_token_with_wrong_password_is_400(api_client, reception):
    response = api_client.post(
        "/api/v1/auth/token/", {"username": "reception", "password": "nope"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["Wrong username or password."]}


def test_token_missing_field_is_400_with_field_error(api_client):
    response = api_client.post("/api/v1/auth/token/", {"username": "x"}, format="json")
    assert response.status_code == 400
    assert "password" in response.json()


@pytest.mark.parametrize("path", ["/api/v1/me/", "/api/v1/locations/", "/api/v1/staff/"])
def test_api_needs_authentication(api_client, path):
    assert api_client.get(path).status_code == 401


def test_bad_token_is_401(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert api_client.get("/api/v1/me/").status_code == 401


def test_locations_are_those_i_may_act_at(api_as, manager, owner, location, other_location):
    assert [loc["code"] for loc in api_as(manager).get("/api/v1/locations/").json()] == ["jingan"]
    assert sorted(loc["code"] for loc in api_as(owner).get("/api/v1/locations/").json()) == [
        "jingan",
        "xuhui",
    ]


def test_staff_list_filters(api_as, reception, stylist, other_stylist, location, other_location):
    from tests.accounts.factories import StaffMemberFactory

    StaffMemberFactory(user__username="far", role="stylist", locations=[other_location], is_bookable=True)
    client = api_as(reception)
    names = {s["username"] for s in client.get("/api/v1/staff/").json()}
    assert names == {"reception", "stylist", "stylist2"}  # not the other location's stylist
    bookable = {s["username"] for s in client.get("/api/v1/staff/", {"bookable": "1"}).json()}
    assert bookable == {"stylist", "stylist2"}
    assert client.get("/api/v1/staff/", {"location": "abc"}).status_code == 400


def test_openapi_schema_and_docs(api_as, client_as, reception):
    schema = api_as(reception).get(reverse("schema"), {"format": "json"})
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/auth/token/" in paths and "/api/v1/me/" in paths
    docs = client_as(reception).get(reverse("swagger-ui"))
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content and b"cdn" not in docs.content.lower()


def test_token_endpoint_locks_out_after_ten_failures_per_username_and_ip(api_client, reception, stylist):
    for _ in range(10):
        api_client.post("/api/v1/auth/token/", {"username": "reception", "password": "nope"}, format="json")
    locked = api_client.post(
        "/api/v1/auth/token/", {"username": "reception", "password": PASSWORD}, format="json"
    )
    assert locked.status_code == 429
    assert locked.json()["code"] == "locked_out"
    # a colleague behind the same shop IP is not locked out
    ok = api_client.post("/api/v1/auth/token/", {"username": "stylist", "password": PASSWORD}, format="json")
    assert ok.status_code == 200
