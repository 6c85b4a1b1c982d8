from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from salon_crm import offline
from salon_crm.health import liveness, readiness
from salon_crm.metrics import metrics_view
from salon_crm.ratelimit import public_rate_limit
from salon_crm.views import favicon

api_v1 = [
    path("", include("accounts.api_urls")),
]
for app in ("customers", "appointments", "loyalty", "feedback", "messaging", "analytics"):
    if app in settings.INSTALLED_APPS:
        api_v1.append(path("", include(f"{app}.api_urls")))

urlpatterns = [
    # Readiness (503 only when the database is down) under its old name and its new one; liveness
    # checks nothing. Prometheus scrapes /metrics (a token, or a private address). docs/operations.md
    path("healthz", readiness, name="healthz"),
    path("healthz/ready", readiness, name="healthz_ready"),
    path("healthz/live", liveness, name="healthz_live"),
    path("metrics", metrics_view, name="metrics"),
    path("favicon.ico", favicon, name="favicon"),
    # the offline day view: its service worker (root scope), the day's list, the offline page
    path("sw.js", offline.service_worker, name="offline_sw"),
    path("offline/", offline.offline_page, name="offline_page"),
    path("offline/today.json", offline.offline_manifest, name="offline_manifest"),
    path("i18n/", include("django.conf.urls.i18n")),
    # The admin's own login form counts against the same per-address limit as the login page
    # (this path comes first, so it answers /<admin>/login/; reverse("admin:login") is the same URL).
    path(f"{settings.ADMIN_URL}login/", public_rate_limit("login")(admin.site.login)),
    path(settings.ADMIN_URL, admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view loads Swagger UI's init script from a URL (?script=): no inline script under the CSP.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="schema", template_name="drf_spectacular/swagger_ui_csp.html"
        ),
        name="swagger-ui",
    ),
    # The owner's whole-salon export (salon_crm.portability), under the settings area.
    path("settings/export/", include("salon_crm.portability.urls")),
    path("", include("accounts.urls")),
]
for app in ("customers", "appointments", "loyalty", "feedback", "messaging", "analytics"):
    if app in settings.INSTALLED_APPS:
        urlpatterns.append(path("", include(f"{app}.urls")))

# An unknown URL under /api/ answers JSON like every other API error (pages keep Django's).
handler404 = "salon_crm.api.page_not_found"
# The database down, read-only or full answers 503 with a message; anything else 500.
handler500 = "salon_crm.unavailable.server_error"
