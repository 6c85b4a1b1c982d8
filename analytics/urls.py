from django.urls import path

from analytics import at_risk_views, breakdown_views, campaign_views, desk_views, views

app_name = "analytics"
urlpatterns: list = [
    path("dashboard/", views.dashboard_page, name="dashboard"),
    path("dashboard/clients/", views.clients_page, name="clients"),
    # the visits, sale lines or bookings behind a breakdown bar or a tile (analytics/breakdown_views.py)
    path("dashboard/visits/", breakdown_views.visits_page, name="visits"),
    # the desk's daily summary and a stylist's own figures (analytics/desk_views.py)
    path("desk/summary/", desk_views.daily_summary, name="daily_summary"),
    path("my-stats/", desk_views.my_stats, name="my_stats"),
    # the at-risk list and its one-click call (analytics/at_risk_views.py)
    path("dashboard/at-risk/", at_risk_views.at_risk_page, name="at_risk"),
    path("dashboard/at-risk/call/", at_risk_views.at_risk_call, name="at_risk_call"),
    # win-back and birthday campaigns with a holdout (analytics/campaign_views.py)
    path("dashboard/campaigns/", campaign_views.campaign_list, name="campaigns"),
    path("dashboard/campaigns/new/", campaign_views.campaign_new, name="campaign_new"),
    path("dashboard/campaigns/add-client/", campaign_views.campaign_add_client, name="campaign_add_client"),
    path("dashboard/campaigns/<int:pk>/", campaign_views.campaign_page, name="campaign"),
    path("dashboard/campaigns/<int:pk>/edit/", campaign_views.campaign_edit, name="campaign_edit"),
    path("dashboard/campaigns/<int:pk>/launch/", campaign_views.campaign_launch, name="campaign_launch"),
    path(
        "dashboard/campaigns/<int:pk>/remove-client/",
        campaign_views.campaign_remove_client,
        name="campaign_remove_client",
    ),
]
