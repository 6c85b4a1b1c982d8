"""Two-factor login (accounts/otp.py): owners and managers confirm a TOTP code after their
password before any page, the admin or the API answers; enrolment with a QR code and backup
codes; recovery by an owner in the admin; API tokens only with a code; a configurable admin URL.
The suite runs with OTP_REQUIRED_ROLES empty (test settings); these tests switch it on."""

import importlib
import re
import time

import pytest
from django.contrib.auth.models import Group
from django.test import override_settings
from django.urls import clear_url_caches, reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token

from tests.accounts.factories import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/login/"


@pytest.fixture
def otp_on(settings):
    settings.OTP_REQUIRED_ROLES = ["owner", "manager"]


def app_code(device: TOTPDevice) -> str:
    """What the phone's app shows: the current code, or the next one if the current one was
    used already (django-otp refuses a code twice)."""
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    totp.time += max(0, device.last_t + 1 - totp.t()) * device.step
    return f"{totp.token():0{device.digits}d}"


def wrong_code(device: TOTPDevice) -> str:
    return f"{(int(app_code(device)) + 1) % 10**6:06d}"


def log_in(client, staff, **extra):
    return client.post(LOGIN, {"username": staff.user.username, "password": PASSWORD, **extra})


def enrol(client, staff) -> list[str]:
    """Password, then the set-up page: confirm one code; returns the backup codes shown."""
    log_in(client, staff)
    client.get(reverse("accounts:otp_enrol"))
    device = TOTPDevice.objects.get(user=staff.user, confirmed=False)
    page = client.post(reverse("accounts:otp_enrol"), {"code": app_code(device), "next": "/"})
    assert page.status_code == 200
    return re.findall(r'<li class="col">(\w+)</li>', page.content.decode())


def verified_client(client, staff):
    enrol(client, staff)
    return client


# ---- off, and who is asked -------------------------------------------------------------------


def test_with_the_setting_empty_owners_log_in_with_a_password_only(client, owner, settings):
    assert settings.OTP_REQUIRED_ROLES == []
    response = log_in(client, owner)
    assert response.status_code == 302 and response.url == "/"
    assert client.get("/today/").status_code == 200
    assert client.get(reverse("admin:index")).status_code == 200
    assert TOTPDevice.objects.count() == 0


def test_receptionists_and_stylists_are_not_asked(client, otp_on, reception, stylist):
    for staff in (reception, stylist):
        response = log_in(client, staff)
        assert response.status_code == 302 and response.url == "/"
        assert client.get("/today/").status_code == 200
        client.post(reverse("accounts:logout"))


def test_the_roles_come_from_the_setting(client, settings, owner, manager):
    settings.OTP_REQUIRED_ROLES = ["owner"]
    response = log_in(client, manager)
    assert response.status_code == 302 and response.url == "/"
    client.post(reverse("accounts:logout"))
    assert log_in(client, owner).url == reverse("accounts:otp_enrol") + "?next=%2F"


# ---- enrolment ---------------------------------------------------------------------------------


def test_first_login_enrols_a_phone_then_shows_backup_codes_once(client, otp_on, manager):
    response = log_in(client, manager)
    assert response.status_code == 302 and response.url == reverse("accounts:otp_enrol") + "?next=%2F"
    page = client.get(response.url)
    html = page.content.decode()
    device = TOTPDevice.objects.get(user=manager.user)
    assert device.confirmed is False
    assert '<figure class="mb-0" id="otp-qr"' in html and "<svg" in html
    secret = re.search(r'id="otp-secret">([A-Z2-7 ]+)<', html).group(1).replace(" ", "")
    assert len(secret) == 32
    # the strict Content-Security-Policy: no style attribute, no inline script
    assert "style=" not in html
    assert re.search(r"<script(?![^>]*\bsrc=)", html) is None
    # a wrong code changes nothing
    wrong = client.post(response.url, {"code": wrong_code(device), "next": "/"})
    assert wrong.status_code == 400 and "not right" in wrong.content.decode()
    device.refresh_from_db()
    assert device.confirmed is False and StaticDevice.objects.count() == 0
    assert client.get("/today/").status_code == 302
    # the right one confirms the phone, verifies the session and shows ten backup codes
    device.throttle_reset()
    done = client.post(response.url, {"code": app_code(device), "next": "/"})
    codes = re.findall(r'<li class="col">(\w+)</li>', done.content.decode())
    assert done.status_code == 200 and len(codes) == 10
    device.refresh_from_db()
    assert device.confirmed is True
    assert sorted(
        StaticToken.objects.filter(device__user=manager.user).values_list("token", flat=True)
    ) == sorted(codes)
    assert client.get("/today/").status_code == 200
    # shown once: the set-up page now sends a verified user on
    again = client.get(reverse("accounts:otp_enrol"))
    assert again.status_code == 302 and again.url == "/"


def test_until_the_code_is_confirmed_every_page_api_and_the_admin_wait(client, otp_on, owner):
    log_in(client, owner)
    for url in ("/", reverse("accounts:settings"), reverse("admin:index"), "/customers/?q=li"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("accounts:otp_enrol") + "?next="), url
    api = client.get(reverse("api-me"))
    assert api.status_code == 403 and api.json()["code"] == "otp_required"
    htmx = client.get("/", HTTP_HX_REQUEST="true")
    assert htmx.status_code == 204 and htmx["HX-Redirect"].startswith(reverse("accounts:otp_enrol"))
    # still open: health, language, logout
    assert client.get("/healthz").status_code == 200
    assert client.post("/i18n/setlang/", {"language": "en", "next": "/"}).status_code == 302
    assert client.post(reverse("accounts:logout")).status_code == 302
    assert "_auth_user_id" not in client.session


# ---- later logins --------------------------------------------------------------------------------


def test_later_logins_ask_for_the_code_and_go_on_to_next(client, otp_on, owner):
    enrol(client, owner)
    client.post(reverse("accounts:logout"))
    response = client.post(
        LOGIN + "?next=/customers/", {"username": "owner", "password": PASSWORD, "next": "/customers/"}
    )
    assert response.url == reverse("accounts:otp") + "?next=%2Fcustomers%2F"
    assert client.get("/today/").status_code == 302
    device = TOTPDevice.objects.get(user=owner.user)
    done = client.post(response.url, {"code": app_code(device), "next": "/customers/"})
    assert done.status_code == 302 and done.url == "/customers/"
    assert client.get("/today/").status_code == 200
    assert client.get(reverse("api-me")).status_code == 200


def test_the_code_page_does_not_redirect_off_site(client, otp_on, owner):
    enrol(client, owner)
    client.post(reverse("accounts:logout"))
    log_in(client, owner)
    device = TOTPDevice.objects.get(user=owner.user)
    done = client.post(reverse("accounts:otp"), {"code": app_code(device), "next": "https://evil.example/"})
    assert done.status_code == 302 and done.url == "/"


def test_wrong_codes_are_throttled(client, otp_on, owner):
    enrol(client, owner)
    client.post(reverse("accounts:logout"))
    log_in(client, owner)
    device = TOTPDevice.objects.get(user=owner.user)
    wrong = client.post(reverse("accounts:otp"), {"code": wrong_code(device)})
    assert wrong.status_code == 400 and "not right" in wrong.content.decode()
    # the right code straight after a wrong one waits for the throttle (1 s, 2 s, 4 s, ...)
    device.refresh_from_db()
    device.throttling_failure_count = 5
    device.save(update_fields=["throttling_failure_count"])
    held = client.post(reverse("accounts:otp"), {"code": app_code(device)})
    assert held.status_code == 400 and "Too many wrong codes" in held.content.decode()
    assert client.get("/today/").status_code == 302
    device.throttle_reset()
    assert client.post(reverse("accounts:otp"), {"code": app_code(device)}).status_code == 302
    assert client.get("/today/").status_code == 200


def test_a_backup_code_works_once(client, otp_on, manager):
    codes = enrol(client, manager)
    client.post(reverse("accounts:logout"))
    log_in(client, manager)
    assert client.post(reverse("accounts:otp"), {"code": codes[0].upper()}).status_code == 302
    assert client.get("/today/").status_code == 200
    client.post(reverse("accounts:logout"))
    log_in(client, manager)
    again = client.post(reverse("accounts:otp"), {"code": codes[0]})
    assert again.status_code == 400
    assert client.get("/today/").status_code == 302
    assert StaticToken.objects.filter(device__user=manager.user).count() == 9


# ---- recovery in the admin -----------------------------------------------------------------------


def test_the_owner_group_may_see_and_delete_devices_but_not_add_or_change_them():
    perms = set(
        Group.objects.get(name="owner").permissions.values_list("content_type__app_label", "codename")
    )
    assert {("otp_totp", "view_totpdevice"), ("otp_totp", "delete_totpdevice")} <= perms
    assert ("otp_totp", "change_totpdevice") not in perms and ("otp_totp", "add_totpdevice") not in perms
    manager_perms = Group.objects.get(name="manager").permissions.filter(content_type__app_label="otp_totp")
    assert manager_perms.count() == 0


def test_an_owner_resets_a_managers_lost_phone_in_the_admin(client, otp_on, owner, manager):
    from django.test import Client

    manager_client = Client()
    enrol(manager_client, manager)
    lost = TOTPDevice.objects.get(user=manager.user)
    # a manager may not touch devices
    assert manager_client.get(reverse("admin:otp_totp_totpdevice_changelist")).status_code == 403
    # the owner (not a superuser: the owner role's permissions) opens and deletes it
    assert owner.user.is_superuser is False
    verified_client(client, owner)
    listing = client.get(reverse("admin:otp_totp_totpdevice_changelist"))
    assert listing.status_code == 200 and "manager" in listing.content.decode()
    change = client.get(reverse("admin:otp_totp_totpdevice_change", args=[lost.pk]))
    assert change.status_code == 200 and lost.key not in change.content.decode()  # the secret stays hidden
    deleted = client.post(reverse("admin:otp_totp_totpdevice_delete", args=[lost.pk]), {"post": "yes"})
    assert deleted.status_code == 302
    assert not TOTPDevice.objects.filter(pk=lost.pk).exists()
    # the manager's next login enrols a new phone; the new backup codes replace the old ones
    manager_client.post(reverse("accounts:logout"))
    assert log_in(manager_client, manager).url.startswith(reverse("accounts:otp_enrol"))
    old_codes = set(StaticToken.objects.filter(device__user=manager.user).values_list("token", flat=True))
    manager_client.post(reverse("accounts:logout"))
    new_codes = set(enrol(manager_client, manager))
    assert len(new_codes) == 10 and not (old_codes & new_codes)
    assert (
        set(StaticToken.objects.filter(device__user=manager.user).values_list("token", flat=True))
        == new_codes
    )


# ---- API tokens ----------------------------------------------------------------------------------


def test_owners_and_managers_get_a_token_only_with_a_code(client, api_client, otp_on, manager, reception):
    url = reverse("api-token")
    creds = {"username": "manager", "password": PASSWORD}
    not_enrolled = api_client.post(url, creds, format="json")
    assert not_enrolled.status_code == 403 and not_enrolled.json()["code"] == "otp_enrolment_required"
    enrol(client, manager)
    device = TOTPDevice.objects.get(user=manager.user)
    missing = api_client.post(url, creds, format="json")
    assert missing.status_code == 400 and "otp" in missing.json()
    wrong = api_client.post(url, {**creds, "otp": wrong_code(device)}, format="json")
    assert wrong.status_code == 400 and "otp" in wrong.json()
    assert Token.objects.count() == 0
    device.throttle_reset()
    ok = api_client.post(url, {**creds, "otp": app_code(device)}, format="json")
    assert ok.status_code == 200
    assert Token.objects.get().key == ok.json()["token"]
    # the token works on its own (it carries both factors)
    api_client.credentials(HTTP_AUTHORIZATION="Token " + ok.json()["token"])
    assert api_client.get(reverse("api-me")).json()["username"] == "manager"
    # reception needs no code
    api_client.credentials()
    assert (
        api_client.post(url, {"username": "reception", "password": PASSWORD}, format="json").status_code
        == 200
    )


# ---- the admin's URL -----------------------------------------------------------------------------


@pytest.fixture
def admin_at_backstage():
    import salon_crm.urls

    with override_settings(ADMIN_URL="backstage/"):
        importlib.reload(salon_crm.urls)
        clear_url_caches()
        yield
    importlib.reload(salon_crm.urls)
    clear_url_caches()


def test_the_admin_url_is_configurable(client, owner, admin_at_backstage):
    client.force_login(owner.user)
    assert reverse("admin:index") == "/backstage/"
    assert client.get("/backstage/").status_code == 200
    assert client.get("/admin/").status_code == 404
    assert 'href="/backstage/"' in client.get(reverse("accounts:settings")).content.decode()
