"""Going ahead despite safety warnings: the override is recorded (who, when, which warnings,
why). The warnings themselves are a read: customers.safety.customer_safety_warnings."""

from dataclasses import asdict

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from customers.models import Customer, SafetyOverride
from customers.safety import SafetyWarning


@transaction.atomic
def safety_override_record(
    *, customer: Customer, warnings: list[SafetyWarning], reason: str, user, context: str
) -> SafetyOverride:
    """Record that `user` went ahead despite `warnings`. A reason and the
    customers.override_safety permission are required (ValidationError on override_reason)."""
    if not (reason or "").strip():
        raise ValidationError(
            {"override_reason": [_("Give a reason to go ahead despite the safety warnings.")]}
        )
    if not user.has_perm("customers.override_safety"):
        raise ValidationError(
            {"override_reason": [_("You may not override safety warnings; ask a manager.")]}
        )
    return SafetyOverride.objects.create(
        customer=customer,
        context=context,
        warnings=[asdict(w) for w in warnings],
        reason=reason.strip(),
        user=user,
    )
