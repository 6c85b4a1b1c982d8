from django.urls import path

from accounts import api

urlpatterns = [
    path("auth/token/", api.TokenApi.as_view(), name="api-token"),
    path("me/", api.MeApi.as_view(), name="api-me"),
    path("locations/", api.LocationListApi.as_view(), name="api-locations"),
    path("staff/", api.StaffListApi.as_view(), name="api-staff"),
]
