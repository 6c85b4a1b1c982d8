from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _sync_roles(sender, **kwargs):
    from accounts.roles import sync_role_permissions

    sync_role_permissions()


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts and locations")

    def ready(self) -> None:
        from accounts.nav import NavItem, register

        register(NavItem("today", _("Today"), "accounts:today", order=10))
        register(NavItem("settings", _("Settings"), "accounts:settings", "accounts.manage_staff", order=90))
        # After every migrate, make sure each role holds its default permissions, including
        # those of apps installed later (a role never loses what an owner added in the admin).
        post_migrate.connect(_sync_roles, sender=self, dispatch_uid="accounts_sync_roles")
        # Owners may reset another user's two-factor device in the admin.
        from accounts.otp import register_owner_permissions

        register_owner_permissions()
