import pytest
from django.contrib import admin
from django.core.management import call_command
from django.urls import reverse

from accounts.models import Location, StaffMember
from tests.accounts.factories import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/login/"


def _fail(client, username, ip):
    return client.post(LOGIN, {"username": username, "password": "wrong"}, REMOTE_ADDR=ip)


def test_lockout_is_per_username_and_ip(client, reception, stylist):
    for _ in range(10):
        _fail(client, "reception", "10.0.0.1")
    # the right password no longer works for that username at that IP...
    locked = client.post(LOGIN, {"username": "reception", "password": PASSWORD}, REMOTE_ADDR="10.0.0.1")
    assert locked.status_code == 429
    # ...but a colleague at the same shop IP can still log in,
    ok = client.post(LOGIN, {"username": "stylist", "password": PASSWORD}, REMOTE_ADDR="10.0.0.1")
    assert ok.status_code == 302
    client.logout()
    # and the same person from another IP too.
    other = client.post(LOGIN, {"username": "reception", "password": PASSWORD}, REMOTE_ADDR="10.0.0.2")
    assert other.status_code == 302


def test_nine_failures_do_not_lock(client, reception):
    for _ in range(9):
        _fail(client, "reception", "10.0.0.9")
    assert (
        client.post(
            LOGIN, {"username": "reception", "password": PASSWORD}, REMOTE_ADDR="10.0.0.9"
        ).status_code
        == 302
    )


def test_login_and_logout(client, reception):
    response = client.post(LOGIN, {"username": "reception", "password": PASSWORD})
    assert response.status_code == 302 and response.url == "/"
    assert client.post(reverse("accounts:logout")).status_code == 302
    assert client.get("/").status_code == 302


def test_language_switch_to_simplified_chinese(client_as, reception):
    client = client_as(reception)
    assert "Today" in client.get("/").content.decode()
    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert response.status_code == 302
    html = client.get("/").content.decode()
    assert "今天" in html and "退出" in html
    assert '<html lang="zh-hans">' in html


def test_healthz_reports_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"] == "ok"


def test_admin_changelists_load(client_as, owner):
    client = client_as(owner)
    owner.user.is_superuser = True
    owner.user.save(update_fields=["is_superuser"])
    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        assert client.get(url).status_code == 200, url


def test_seed_demo_is_idempotent(client):
    call_command("seed_demo", "--password", "demo-pass-123")
    counts = (Location.objects.count(), StaffMember.objects.count())
    call_command("seed_demo", "--password", "demo-pass-123")
    assert (Location.objects.count(), StaffMember.objects.count()) == counts == (2, 10)
    assert set(StaffMember.objects.values_list("user__username", flat=True)) >= {
        "owner",
        "manager",
        "reception",
        "stylist",
    }
    assert client.post(LOGIN, {"username": "reception", "password": "demo-pass-123"}).status_code == 302


def test_a_forged_forwarded_for_header_does_not_dodge_the_lockout(client, reception):
    for i in range(10):
        client.post(
            LOGIN,
            {"username": "reception", "password": "wrong"},
            REMOTE_ADDR="10.0.0.5",
            HTTP_X_FORWARDED_FOR=f"8.8.8.{i}",
        )
    locked = client.post(
        LOGIN,
        {"username": "reception", "password": PASSWORD},
        REMOTE_ADDR="10.0.0.5",
        HTTP_X_FORWARDED_FOR="9.9.9.9",
    )
    assert locked.status_code == 429
