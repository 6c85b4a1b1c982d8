from django.urls import path

from analytics import desk_views, views

app_name = "analytics"
urlpatterns: list = [
    path("dashboard/", views.dashboard_page, name="dashboard"),
    path("dashboard/clients/", views.clients_page, name="clients"),
    # the desk's daily summary and a stylist's own figures (analytics/desk_views.py)
    path("desk/summary/", desk_views.daily_summary, name="daily_summary"),
    path("my-stats/", desk_views.my_stats, name="my_stats"),
]
