from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Clients")

    def ready(self) -> None:
        from accounts import roles
        from accounts.nav import NavItem, register
        from customers.roles import ROLE_PERMISSIONS

        roles.register(ROLE_PERMISSIONS)

        register(NavItem("clients", _("Clients"), "customers:list", "customers.view_customer", order=30))
