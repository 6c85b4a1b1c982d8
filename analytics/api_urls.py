from django.urls import path

from analytics import api

urlpatterns = [
    path("metrics/summary/", api.MetricsSummaryApi.as_view(), name="api-metrics-summary"),
    path("metrics/lifecycle/", api.MetricsLifecycleApi.as_view(), name="api-metrics-lifecycle"),
]
