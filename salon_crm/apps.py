import logging

from django.apps import AppConfig
from django.db.backends.signals import connection_created


def _ask_sqlite_for_json(sender, connection, **kwargs) -> None:
    """SQLite answers "have you JSON functions?" with a statement of its own the first time one
    is compiled (salon_crm.rows): ask when connecting, not in the middle of a page's statements
    (the query-count tests would count it once per process, wherever it fell)."""
    if connection.vendor == "sqlite":
        connection.features.supports_json_field  # noqa: B018 (a cached property: the probe)


class SalonCrmConfig(AppConfig):
    """The project package as an app, for project-wide start-up hooks only (no models)."""

    name = "salon_crm"
    verbose_name = "Salon CRM"

    def ready(self) -> None:
        from salon_crm.validators import install_default_text_validators

        # Every form and serializer CharField refuses control characters (salon_crm.validators).
        install_default_text_validators()
        connection_created.connect(_ask_sqlite_for_json, dispatch_uid="salon_crm.sqlite_json")
        # Observability (docs/operations.md): django-structlog's request hooks (request id in and
        # out, no query strings), and failed logins counted for /metrics.
        from django.contrib.auth.signals import user_login_failed

        from salon_crm import logs, metrics

        logs.connect()
        user_login_failed.connect(metrics.count_login_failure, dispatch_uid="salon_crm.metrics.login_failed")
        # A database restart is one warning line per request, not a traceback each (unavailable.py).
        from salon_crm.unavailable import QuietUnavailable

        request_log = logging.getLogger("django.request")
        if not any(isinstance(f, QuietUnavailable) for f in request_log.filters):
            request_log.addFilter(QuietUnavailable())
        # The owner's whole-salon export, linked from the Settings page (salon_crm.portability:
        # the page itself also asks for customers.export_customer).
        from django.utils.translation import gettext_lazy as _

        from accounts.nav import NavItem, register_settings_link

        register_settings_link(
            NavItem(
                "salon_export",
                _("Export all data"),
                "portability:export",
                "accounts.view_all_locations",
                order=95,
            )
        )
