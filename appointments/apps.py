from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AppointmentsConfig(AppConfig):
    name = "appointments"
    verbose_name = _("Appointments and visits")

    def ready(self) -> None:
        from accounts import roles
        from accounts.nav import NavItem, register
        from appointments.roles import ROLE_PERMISSIONS, register_client_scope

        roles.register(ROLE_PERMISSIONS)
        register_client_scope()  # a visit or appointment at a location: a client of it (bulk reads)
        # Hidden until the appointments:day URL exists (the nav skips names it cannot reverse).
        register(
            NavItem("calendar", _("Calendar"), "appointments:day", "appointments.view_appointment", order=20)
        )
        from accounts import demo
        from appointments.demo import seed_appointments
        from appointments.merge import register as register_merge_handler
        from appointments.timeline import register_sources

        register_sources()
        from appointments.card import register as register_card_panel

        register_card_panel()  # Book / Walk-in, the 12-month figures and upcoming on the client card
        demo.register("appointments", seed_appointments)
        register_merge_handler()  # its part of merging two clients (customers.services)
        from appointments.views.catalogue import register_links

        register_links()
        # The pages' own hooks: "My day" for those who write service records, the Today panel.
        from accounts import home
        from appointments.views.stylist import today_panel

        register(
            NavItem("my_day", _("My day"), "appointments:my_day", "appointments.add_servicerecord", order=21)
        )
        home.register("appointments", today_panel)
        from appointments.views.held import held_panel

        home.register("appointments_online_checks", held_panel)  # online bookings held for the desk
        from appointments.offline import register as register_offline

        register_offline()  # today's clients, whose cards the offline day view keeps (customers.offline)
        from appointments.services.online import online_checks_erase
        from customers.services import register_erase_hook

        register_erase_hook("appointments.online_checks", online_checks_erase)
        from appointments import retention

        retention.register()  # appointments, visits and waitlist requests keep a file (customers.retention)
