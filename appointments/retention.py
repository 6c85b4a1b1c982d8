"""appointments' rules for data retention (customers.retention): an appointment dated on or
after the cutoff (future ones included, any status), a visit, or a waitlist request keeps a
client's file. Each is an EXISTS on an index that starts with the client."""

from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _

from appointments.models import Appointment, Visit, WaitlistEntry
from customers.retention import RetentionRule, register_retention_rule


def register() -> None:
    register_retention_rule(
        RetentionRule(
            "appointments.appointment",
            _("an appointment"),
            # (customer, start): a booked future appointment is always on or after the cutoff
            lambda cutoff, now: Exists(
                Appointment.objects.filter(customer=OuterRef("pk"), start__gte=cutoff)
            ),
        )
    )
    register_retention_rule(
        RetentionRule(
            "appointments.visit",
            _("a visit"),
            lambda cutoff, now: Exists(Visit.objects.filter(customer=OuterRef("pk"), started_at__gte=cutoff)),
        )
    )
    register_retention_rule(
        RetentionRule(
            "appointments.waitlist",
            _("a waitlist request"),
            lambda cutoff, now: Exists(
                WaitlistEntry.objects.filter(customer=OuterRef("pk"), created_at__gte=cutoff)
            ),
        )
    )
