from django.urls import path

from appointments import api

urlpatterns = [
    path("services/", api.ServiceListApi.as_view(), name="api-services"),
    path("availability/", api.AvailabilityApi.as_view(), name="api-availability"),
    path("availability/times/", api.AvailabilityTimesApi.as_view(), name="api-availability-times"),
    path("appointments/", api.AppointmentListCreateApi.as_view(), name="api-appointments"),
    path("appointments/<int:pk>/", api.AppointmentDetailApi.as_view(), name="api-appointment"),
    path(
        "appointments/<int:pk>/confirm/", api.AppointmentConfirmApi.as_view(), name="api-appointment-confirm"
    ),
    path(
        "appointments/<int:pk>/check-in/",
        api.AppointmentCheckInApi.as_view(),
        name="api-appointment-check-in",
    ),
    path("appointments/<int:pk>/start/", api.AppointmentStartApi.as_view(), name="api-appointment-start"),
    path("appointments/<int:pk>/cancel/", api.AppointmentCancelApi.as_view(), name="api-appointment-cancel"),
    path(
        "appointments/<int:pk>/no-show/", api.AppointmentNoShowApi.as_view(), name="api-appointment-no-show"
    ),
    path("appointments/<int:pk>/move/", api.AppointmentMoveApi.as_view(), name="api-appointment-move"),
    path("visits/", api.VisitCheckoutApi.as_view(), name="api-visits"),
    path("visits/<int:pk>/", api.VisitDetailApi.as_view(), name="api-visit"),
    path("visits/<int:pk>/void/", api.VisitVoidApi.as_view(), name="api-visit-void"),
    path("waitlist/", api.WaitlistApi.as_view(), name="api-waitlist"),
    path("waitlist/matches/", api.WaitlistMatchesApi.as_view(), name="api-waitlist-matches"),
    path("waitlist/<int:pk>/status/", api.WaitlistStatusApi.as_view(), name="api-waitlist-status"),
]
