from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = _("Analytics")

    def ready(self) -> None:
        from accounts.nav import NavItem, register
        from analytics import listeners, sql

        sql.install()  # the local-date function on SQLite connections (the quick start)
        listeners.subscribe()  # a checkout or a void marks its day for the roll-ups
        from analytics.card import register as register_card

        register_card()  # the client's RFM segment and classes on the card
        from analytics import registry

        registry.register()  # a merge rolls both clients' days up again
        from accounts import demo
        from analytics.demo import seed_analytics

        demo.register("analytics", seed_analytics)  # last: after every app's history
        register(
            NavItem("dashboard", _("Dashboard"), "analytics:dashboard", "accounts.view_dashboards", order=15)
        )
        from accounts import roles
        from analytics import campaigns  # noqa: F401 - registers the win-back message kind
        from analytics.roles import ROLE_PERMISSIONS

        roles.register(ROLE_PERMISSIONS)  # campaigns: managers and owners (no header entry: the
        # header is full at 1024 px; the dashboard and the at-risk list link to them)
        from accounts import home
        from analytics.desk_views import today_panel as desk_panel

        home.register("analytics_desk", desk_panel)  # links to the daily summary and "my stats"
        home.register_home(("manager", "owner"), "analytics:dashboard", permission="accounts.view_dashboards")
        from analytics import list_filter

        list_filter.register()  # the client list's filter by RFM segment and class
