from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Clients")

    def ready(self) -> None:
        from accounts import demo, roles
        from accounts.nav import NavItem, register
        from customers import audit, timeline_sources
        from customers.demo import seed_customers
        from customers.roles import ROLE_PERMISSIONS
        from customers.services import CUSTOMERS_MERGE_HANDLER, register_merge_handler

        roles.register(ROLE_PERMISSIONS)
        audit.register_models()
        timeline_sources.register_sources()
        demo.register("customers", seed_customers)
        register_merge_handler(CUSTOMERS_MERGE_HANDLER)  # first: the other apps' handlers follow

        register(NavItem("clients", _("Clients"), "customers:list", "customers.view_customer", order=30))
        # Privacy: what is stored and why, for every role; the owners' settings and access log.
        from accounts import home
        from accounts.nav import register_settings_link
        from customers.privacy_views import today_panel

        # The header for the desk and stylists; managers and owners (whose header is full on a
        # tablet) find it first among the Settings page's links.
        register(
            NavItem("privacy", _("Privacy"), "customers:privacy", order=95, unless="accounts.manage_staff")
        )
        register_settings_link(
            NavItem(
                "privacy_page",
                _("Privacy: what the CRM stores"),
                "customers:privacy",
                "accounts.manage_staff",
                order=1,
            )
        )
        register_settings_link(
            NavItem(
                "privacy_settings",
                _("Privacy and data retention"),
                "customers:privacy_settings",
                "accounts.manage_privacy",
                order=84,
            )
        )
        register_settings_link(
            NavItem(
                "access_log", _("Access log"), "customers:access_log", "accounts.review_access_log", order=85
            )
        )
        home.register("customers_access_alerts", today_panel)  # owners: unusual access to files
