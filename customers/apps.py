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
