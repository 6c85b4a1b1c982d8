"""The offline day view's part in accounts: the per-session key that names the browser's copy,
and logging out that deletes it.

The key is an HMAC of the session key (with the project's secret), so it names this login in
this browser and nothing else: not the user's id or name, and it cannot be turned back into the
session cookie. A new login (a new session key) gives a new key, and the service worker
(static/js/offline-sw.js) deletes every copy kept under another key."""

from django.contrib.auth import views as auth_views
from django.utils import timezone
from django.utils.crypto import salted_hmac

from accounts import otp
from accounts.access import current_location

# What the logout answer asks the browser to delete: its HTTP cache and its storage (the Cache
# Storage where the offline copy lives, the service worker's registration, local storage).
# Cookies stay: the language chosen on the login page is one.
CLEAR_SITE_DATA = '"cache", "storage"'


def offline_key(request) -> str:
    """This session's key for the browser's offline copy; "" when the session has none yet."""
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if not session_key:
        return ""
    return salted_hmac("accounts.offline.key", session_key).hexdigest()[:32]


def context(request) -> dict:
    """For templates/base.html: the key (only for a user fully signed in and working at a
    location: the offline day view is that location's day) and the time the page shows, in the
    location's zone ("as of HH:MM" in the offline banner: a page read from the copy says when
    it was made)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or otp.needs_code(user):
        return {}
    location = current_location(request)
    key = offline_key(request) if location is not None else ""
    if not key:
        return {}
    return {
        "offline_key": key,
        "offline_as_of": f"{timezone.now().astimezone(location.tz):%H:%M}",
    }


class LogoutView(auth_views.LogoutView):
    """Django's logout (POST), whose answer also asks the browser to delete this site's cache
    and storage: the offline copy of today's calendar and cards goes with the session. The
    page's script deletes it too before it posts (static/js/offline.js), for browsers that ignore
    the header."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        response["Clear-Site-Data"] = CLEAR_SITE_DATA
        return response
