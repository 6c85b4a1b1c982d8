from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoyaltyConfig(AppConfig):
    name = "loyalty"
    verbose_name = _("Loyalty")

    def ready(self) -> None:
        from accounts import demo, roles
        from loyalty import notices, registry  # noqa: F401 - notices registers its message kind
        from loyalty.demo import seed_loyalty
        from loyalty.roles import ROLE_PERMISSIONS

        roles.register(ROLE_PERMISSIONS)
        registry.register()
        from loyalty import retention

        retention.register()  # ledger entries keep a file; a balance holds it (customers.retention)
        demo.register("loyalty", seed_loyalty)  # after appointments' seeder (INSTALLED_APPS order)
        from accounts.nav import NavItem, register_settings_link
        from loyalty.card import register as register_card_panel

        register_card_panel()
        register_settings_link(
            NavItem(
                "loyalty_settings",
                _("Loyalty and top-up rules"),
                "loyalty:settings",
                "loyalty.manage_loyalty",
                order=70,
            )
        )
        register_settings_link(
            NavItem(
                "loyalty_reports", _("Loyalty reports"), "loyalty:reports", "loyalty.adjust_ledger", order=71
            )
        )
