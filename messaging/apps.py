from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _install_templates(sender, **kwargs) -> None:
    from messaging.services import templates_install

    templates_install()


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = _("Messages")

    def ready(self) -> None:
        from accounts import demo, roles
        from accounts.nav import NavItem, register_settings_link
        from messaging import appointment_messages, clients, metrics, online, timeline
        from messaging.demo import seed_messages
        from messaging.roles import ROLE_PERMISSIONS

        roles.register(ROLE_PERMISSIONS)
        appointment_messages.subscribe()
        timeline.register_source()
        clients.register()
        online.register()
        metrics.register()  # the outbox's gauges on /metrics
        from messaging import privacy

        privacy.register()  # e-mails the owners an access-log alert (customers.access_review)
        demo.register("messaging", seed_messages)
        register_settings_link(
            NavItem(
                "messages_log", _("Messages sent"), "messaging:log", "messaging.manage_messages", order=80
            )
        )
        register_settings_link(
            NavItem(
                "message_templates",
                _("Message templates"),
                "messaging:templates",
                "messaging.manage_messages",
                order=81,
            )
        )
        post_migrate.connect(_install_templates, sender=self, dispatch_uid="messaging_install_templates")
