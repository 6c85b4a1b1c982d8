"""Going ahead despite safety warnings: the override is recorded (who, when, which warnings,
why). The warnings themselves are a read: customers.safety.customer_safety_warnings."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from customers.models import Customer, SafetyOverride
from customers.safety import SafetyWarning, safety_warning_record
from salon_crm.validators import validate_multiline_text


@transaction.atomic
def safety_override_record(
    *, customer: Customer, warnings: list[SafetyWarning], reason: str, user, context: str
) -> SafetyOverride:
    """Record that `user` went ahead despite `warnings`. A reason and the
    customers.override_safety permission are required (ValidationError on override_reason).
    The warnings are kept as codes and ids, never their text (it quotes the client's
    allergies); the reason is encrypted at rest."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(
            {"override_reason": [_("Give a reason to go ahead despite the safety warnings.")]}
        )
    if not user.has_perm("customers.override_safety"):
        raise ValidationError(
            {"override_reason": [_("You may not override safety warnings; ask a manager.")]}
        )
    try:
        validate_multiline_text(reason)
    except ValidationError as exc:
        raise ValidationError({"override_reason": exc.messages}) from exc
    return SafetyOverride.objects.create(
        customer=customer,
        context=context,
        warnings=[safety_warning_record(w) for w in warnings],
        reason=reason,
        user=user,
    )
