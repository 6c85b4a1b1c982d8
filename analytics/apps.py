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
        register(
            NavItem("dashboard", _("Dashboard"), "analytics:dashboard", "accounts.view_dashboards", order=15)
        )
