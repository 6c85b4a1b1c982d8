from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeedbackConfig(AppConfig):
    name = "feedback"
    verbose_name = _("Feedback")

    def ready(self) -> None:
        from accounts import demo, home, roles
        from accounts.nav import NavItem, register
        from feedback import card, kinds, listeners, registry, timeline
        from feedback.demo import seed_feedback
        from feedback.home import today_panel
        from feedback.roles import ROLE_PERMISSIONS

        roles.register(ROLE_PERMISSIONS)
        kinds.register()
        listeners.subscribe()
        registry.register()
        from feedback import retention

        retention.register()  # surveys and complaint cases keep a file (customers.retention)
        timeline.register_sources()
        card.register()
        home.register("feedback", today_panel)
        demo.register("feedback", seed_feedback)  # after loyalty's (INSTALLED_APPS order)
        # One header entry (the header has no room for three): the feedback pages share tabs.
        register(NavItem("feedback", _("Feedback"), "feedback:home", "feedback.view_followup", order=32))
