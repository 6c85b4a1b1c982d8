"""feedback's rules for data retention (customers.retention): a survey planned, or a complaint
case opened, on or after the cutoff keeps a client's file."""

from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _

from customers.retention import RetentionRule, register_retention_rule
from feedback.models import Complaint, Survey


def register() -> None:
    register_retention_rule(
        RetentionRule(
            "feedback.survey",
            _("a survey"),
            lambda cutoff, now: Exists(
                Survey.objects.filter(customer=OuterRef("pk"), created_at__gte=cutoff)
            ),
        )
    )
    register_retention_rule(
        RetentionRule(
            "feedback.complaint",
            _("a complaint case"),
            lambda cutoff, now: Exists(
                Complaint.objects.filter(customer=OuterRef("pk"), opened_at__gte=cutoff)
            ),
        )
    )
