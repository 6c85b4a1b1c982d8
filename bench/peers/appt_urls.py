"""URLs of the django-appointment scratch project: the package's URLconf, as its README says."""

from django.urls import include, path

urlpatterns = [path("appointment/", include("appointment.urls"))]
