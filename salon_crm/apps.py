from django.apps import AppConfig


class SalonCrmConfig(AppConfig):
    """The project package as an app, for project-wide start-up hooks only (no models)."""

    name = "salon_crm"
    verbose_name = "Salon CRM"

    def ready(self) -> None:
        from salon_crm.validators import install_default_text_validators

        # Every form and serializer CharField refuses control characters (salon_crm.validators).
        install_default_text_validators()
