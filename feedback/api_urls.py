from django.urls import path

from feedback import api

urlpatterns = [
    path("surveys/", api.SurveyListApi.as_view(), name="api-surveys"),
    path("surveys/results/", api.SurveyResultsApi.as_view(), name="api-survey-results"),
    path("surveys/<int:pk>/", api.SurveyDetailApi.as_view(), name="api-survey"),
    path("complaints/", api.ComplaintListCreateApi.as_view(), name="api-complaints"),
    path("complaints/<int:pk>/", api.ComplaintDetailApi.as_view(), name="api-complaint"),
    path("complaints/<int:pk>/notes/", api.ComplaintNoteApi.as_view(), name="api-complaint-note"),
    path("complaints/<int:pk>/status/", api.ComplaintStatusApi.as_view(), name="api-complaint-status"),
    path("complaints/<int:pk>/owner/", api.ComplaintOwnerApi.as_view(), name="api-complaint-owner"),
    path(
        "complaints/<int:pk>/compensation/",
        api.ComplaintCompensationApi.as_view(),
        name="api-complaint-compensation",
    ),
    path("follow-ups/", api.FollowUpListCreateApi.as_view(), name="api-follow-ups"),
    path("follow-ups/<int:pk>/outcome/", api.FollowUpOutcomeApi.as_view(), name="api-follow-up-outcome"),
]
