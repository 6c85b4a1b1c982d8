"""loyalty's rules for data retention (customers.retention). A points, stored-value or package
entry on or after the cutoff is activity. A stored-value balance above zero, or package sessions
left on a package still valid, keeps an otherwise inactive client: a member's prepaid money is
never erased silently (the report lists them as "kept")."""

from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from customers.retention import RetentionRule, register_retention_rule
from loyalty.models import CustomerPackage, LoyaltyAccount, PackageEntry, PointsEntry, StoredValueEntry


def register() -> None:
    for key, label, model, account in (
        ("loyalty.points", _("a points entry"), PointsEntry, "account__customer"),
        ("loyalty.stored_value", _("a stored-value entry"), StoredValueEntry, "account__customer"),
        ("loyalty.package", _("a package entry"), PackageEntry, "package__account__customer"),
    ):
        register_retention_rule(
            RetentionRule(
                key,
                label,
                lambda cutoff, now, model=model, account=account: Exists(
                    model.objects.filter(**{account: OuterRef("pk")}, created_at__gte=cutoff)
                ),
            )
        )
    register_retention_rule(
        RetentionRule(
            "loyalty.balance",
            _("stored-value balance"),
            lambda cutoff, now: Exists(
                LoyaltyAccount.objects.filter(customer=OuterRef("pk")).filter(
                    Q(principal__gt=0) | Q(bonus__gt=0)
                )
            ),
            hold=True,
        )
    )
    register_retention_rule(
        RetentionRule(
            "loyalty.package_sessions",
            _("package sessions left"),
            lambda cutoff, now: Exists(
                CustomerPackage.objects.filter(
                    account__customer=OuterRef("pk"),
                    status=CustomerPackage.Status.ACTIVE,
                    sessions_left__gt=0,
                    expires_on__gte=now.date(),
                )
            ),
            hold=True,
        )
    )
