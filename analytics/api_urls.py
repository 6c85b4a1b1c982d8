from django.urls import path

from analytics import api, campaign_api

urlpatterns = [
    path("metrics/summary/", api.MetricsSummaryApi.as_view(), name="api-metrics-summary"),
    path("metrics/lifecycle/", api.MetricsLifecycleApi.as_view(), name="api-metrics-lifecycle"),
    path("analytics/model/", api.ChurnModelApi.as_view(), name="api-analytics-model"),
    path("customers/<int:pk>/metrics/", api.CustomerMetricsApi.as_view(), name="api-customer-metrics"),
    path(
        "analytics/campaigns/<int:pk>/results/",
        campaign_api.CampaignResultsApi.as_view(),
        name="api-campaign-results",
    ),
]
