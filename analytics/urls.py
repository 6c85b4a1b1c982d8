from django.urls import path

from analytics import breakdown_views, desk_views, views

app_name = "analytics"
urlpatterns: list = [
    path("dashboard/", views.dashboard_page, name="dashboard"),
    path("dashboard/clients/", views.clients_page, name="clients"),
    # the visits, sale lines or bookings behind a breakdown bar or a tile (analytics/breakdown_views.py)
    path("dashboard/visits/", breakdown_views.visits_page, name="visits"),
    # the desk's daily summary and a stylist's own figures (analytics/desk_views.py)
    path("desk/summary/", desk_views.daily_summary, name="daily_summary"),
    path("my-stats/", desk_views.my_stats, name="my_stats"),
]
