from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from salon_crm.views import healthz

api_v1 = [
    path("", include("accounts.api_urls")),
]
for app in ("customers", "appointments", "loyalty", "feedback", "messaging", "analytics"):
    if app in settings.INSTALLED_APPS:
        api_v1.append(path("", include(f"{app}.api_urls")))

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("", include("accounts.urls")),
]
for app in ("customers", "appointments", "loyalty", "feedback", "messaging", "analytics"):
    if app in settings.INSTALLED_APPS:
        urlpatterns.append(path("", include(f"{app}.urls")))
