"""Two-factor login (django-otp): who must confirm a code, enrolment, verification, and the
middleware that holds everyone else back until they have.

A user whose role is in settings.OTP_REQUIRED_ROLES (a superuser counts as an owner) logs in
with their password, then:
- the first time (no confirmed phone): the enrolment page shows a QR code for an authenticator
  app; confirming one code saves the phone and shows OTP_BACKUP_CODES single-use backup codes,
  once;
- afterwards: the code page takes a code from the app or a backup code.
Only then is the session verified (django_otp.login). Until it is, `OTPRequiredMiddleware`
answers every page with a redirect to the code page, the admin included, and every session API
call with a JSON 403 (`otp_required`); the login, logout, code pages, /healthz and static files
stay open. API tokens for these roles are issued only with a current code (`otp` field of
POST /api/v1/auth/token/), so a token carries both factors.

Recovery: a lost phone is reset by an owner in the admin (delete the user's TOTP device); at the
next login that user enrols again and gets new backup codes, the old ones stop working.
Wrong codes are throttled per device by django-otp (1 s, 2 s, 4 s, ... after each failure).
"""

from base64 import b32encode
from dataclasses import dataclass

import segno
from django import forms
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_otp import login as otp_login
from django_otp import verify_token
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.access import role_of
from accounts.models import Role

# Owners may reset another user's phone in the admin: see and delete devices, never read or set
# a secret (OTP_ADMIN_HIDE_SENSITIVE_DATA hides keys and QR codes there).
OWNER_PERMISSIONS = [
    "otp_totp.view_totpdevice",
    "otp_totp.delete_totpdevice",
    "otp_static.view_staticdevice",
    "otp_static.delete_staticdevice",
]


def register_owner_permissions() -> None:
    """Called from AccountsConfig.ready(): the owner role's defaults include resetting devices
    (synced to the group after every migrate, like every role permission)."""
    from accounts.roles import register

    register({Role.OWNER: OWNER_PERMISSIONS})


# ---- who, and in which state -------------------------------------------------------------------


def otp_required(user) -> bool:
    """True when this user must confirm a code before using the app."""
    roles = settings.OTP_REQUIRED_ROLES
    return bool(roles) and getattr(user, "is_authenticated", False) and role_of(user) in roles


def is_verified(user) -> bool:
    return bool(getattr(user, "is_verified", None) and user.is_verified())


def needs_code(user) -> bool:
    """Logged in with a password only, and their role requires the second factor."""
    return otp_required(user) and not is_verified(user)


def confirmed_phone(user) -> TOTPDevice | None:
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).order_by("pk").first()


def next_step_url(user, next_url: str = "") -> str:
    """The code page, or the enrolment page for someone without a confirmed phone."""
    name = "accounts:otp" if confirmed_phone(user) else "accounts:otp_enrol"
    url = reverse(name)
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


# ---- enrolment and verification (writes) -------------------------------------------------------


def otp_enrol_start(*, user) -> TOTPDevice:
    """The unconfirmed phone being enrolled (created on the first visit, kept across reloads so
    a QR code already scanned stays valid)."""
    device = TOTPDevice.objects.devices_for_user(user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="phone", confirmed=False)
    return device


def qr_svg(device: TOTPDevice) -> str:
    """The enrolment QR code as inline SVG markup (no style attribute, no script: it passes the
    strict Content-Security-Policy without `img-src data:`)."""
    qr = segno.make(device.config_url, error="m")
    return qr.svg_inline(scale=5, border=4, dark="#000", light="#fff")


def secret_for_typing(device: TOTPDevice) -> str:
    """The secret in base32, in groups of four, for typing into an app without a camera."""
    secret = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@dataclass(frozen=True)
class Enrolled:
    device: TOTPDevice
    backup_codes: list[str]


@transaction.atomic
def otp_enrol_confirm(*, user, device: TOTPDevice, code: str) -> Enrolled | None:
    """Confirm the phone with one code from it: it becomes the user's only phone and the user
    gets fresh backup codes (the old ones, if any, are deleted). None when the code is wrong."""
    device = TOTPDevice.objects.select_for_update().filter(pk=device.pk, user=user, confirmed=False).first()
    if device is None or not device.verify_token("".join(code.split())):
        return None  # a wrong code, or a second submit after the phone was confirmed
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    StaticDevice.objects.filter(user=user).delete()
    backup = StaticDevice.objects.create(user=user, name="backup codes", confirmed=True)
    codes = [StaticToken.random_token() for _i in range(settings.OTP_BACKUP_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=backup, token=c) for c in codes])
    return Enrolled(device=device, backup_codes=codes)


def otp_check(*, user, code: str):
    """The device (phone or backup codes) that accepts `code`, or None. A backup code is used
    up; wrong codes are throttled per device."""
    code = "".join(code.split()).lower()
    if not code:
        return None
    # The app shows six digits; backup codes are eight letters and digits. Asking only the one
    # kind keeps a mistyped app code from counting against the backup codes' throttle.
    model = TOTPDevice if code.isdigit() and len(code) == 6 else StaticDevice
    for device in model.objects.devices_for_user(user, confirmed=True).order_by("pk"):
        verified = verify_token(user, device.persistent_id, code)
        if verified is not None:
            return verified
    return None


def otp_wait_seconds(device) -> int:
    """Seconds until `device` accepts another try after wrong codes (0: now)."""
    if device is None:
        return 0
    allowed, data = device.verify_is_allowed()
    if allowed or not data or "locked_until" not in data:
        return 0
    return max(int((data["locked_until"] - timezone.now()).total_seconds()) + 1, 1)


def session_verify(request: HttpRequest, device) -> None:
    """Mark the session as verified with `device`; a new session key, as for any privilege
    change."""
    request.session.cycle_key()
    otp_login(request, device)


# ---- form ----------------------------------------------------------------------------------------


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Verification code"),
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True, "size": 12}
        ),
    )


# ---- middleware ----------------------------------------------------------------------------------


class OTPRequiredMiddleware:
    """After django_otp's OTPMiddleware: an owner or manager (OTP_REQUIRED_ROLES) logged in with
    a password only is sent to the code page from every URL but the few listed in `open_paths`;
    an API call gets a JSON 403 instead of a redirect."""

    def __init__(self, get_response):
        self.get_response = get_response
        self._open: tuple[str, ...] | None = None

    def open_paths(self) -> tuple[str, ...]:
        if self._open is None:
            self._open = (
                reverse("accounts:login"),
                reverse("accounts:logout"),
                reverse("accounts:otp"),
                reverse("accounts:otp_enrol"),
                reverse("healthz"),
                reverse("favicon"),
                reverse("set_language"),
                "/" + settings.STATIC_URL.lstrip("/"),
            )
        return self._open

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Cheapest test first: with no role requiring a code, nothing is read.
        if (
            settings.OTP_REQUIRED_ROLES
            and not request.path_info.startswith(self.open_paths())
            and needs_code(request.user)
        ):
            return self.refuse(request)
        return self.get_response(request)

    def refuse(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith("/api/"):
            return JsonResponse(
                {
                    "code": "otp_required",
                    "detail": _("Confirm the code from your authenticator app on the login page first."),
                },
                status=403,
            )
        target = next_step_url(request.user, request.get_full_path())
        if request.headers.get("HX-Request") == "true":  # htmx follows HX-Redirect, not a 302
            response = HttpResponse(status=204)
            response["HX-Redirect"] = target
            return response
        return redirect(target)
