"""The client's stored-value balance notice (transactional: no marketing consent needed, quiet
hours still apply), one per ledger row through messaging's outbox."""

from django.db.models import Sum
from django.utils.translation import gettext_lazy as _

from messaging import kinds
from messaging.services import message_enqueue

BALANCE_NOTICE = "stored_value_notice"

kinds.register_kind(
    kinds.Kind(
        BALANCE_NOTICE,
        _("Stored-value balance notice"),
        context=(*kinds.COMMON, "change", "balance", "principal", "bonus", "what"),
        defaults=kinds._same(
            "{{ salon }}: {{ client_name }}, {{ what }} {{ change }}. Stored value left: {{ balance }} "
            "({{ principal }} paid + {{ bonus }} bonus).",
            "【{{ salon }}】{{ client_name }}，您的储值卡{{ what }} {{ change }}，"
            "余额 {{ balance }}（本金 {{ principal }} + 赠送 {{ bonus }}）。",
            "Your stored-value balance",
            "储值卡余额变动",
        ),
    )
)


def _what(entry, language: str) -> str:
    from loyalty.models import StoredValueEntry

    zh = language.startswith("zh")
    names = {
        StoredValueEntry.Kind.SPEND: ("paid", "消费"),
        StoredValueEntry.Kind.REFUND: ("refunded", "退款"),
        StoredValueEntry.Kind.TOPUP: ("topped up", "充值"),
    }
    en, cn = names.get(entry.kind, ("changed", "变动"))
    return cn if zh else en


def balance_notice(entry_id: int, *, entry=None, customer=None, balance=None) -> None:
    """Plan the notice of one ledger row (after its transaction committed). The writer may hand
    over what it knows (the row, the client, and (principal, bonus) right after the row, read
    under the account's lock); otherwise they are read here."""
    from loyalty.models import StoredValueEntry
    from loyalty.selectors import money_text
    from messaging.services import language_of

    if entry is None or customer is None or balance is None:
        entry = StoredValueEntry.objects.select_related("account__customer", "location").get(pk=entry_id)
        customer = entry.account.customer
        # The balance right after this row (a later row may already be written).
        after = StoredValueEntry.objects.filter(account_id=entry.account_id, pk__lte=entry.pk).aggregate(
            p=Sum("principal"), b=Sum("bonus")
        )
        balance = (after["p"], after["b"])
    principal, bonus = balance
    message_enqueue(
        customer=customer,
        kind=BALANCE_NOTICE,
        key=f"sv-notice:{entry.pk}",
        location=entry.location,
        context={
            "what": _what(entry, language_of(customer)),
            "change": money_text(abs(entry.amount)),
            "balance": money_text(principal + bonus),
            "principal": money_text(principal),
            "bonus": money_text(bonus),
        },
    )


BIRTHDAY = "birthday_greeting"

kinds.register_kind(
    kinds.Kind(
        BIRTHDAY,
        _("Birthday greeting and coupon"),
        marketing=True,
        context=(*kinds.COMMON, "code", "value", "valid_until", "unsubscribe_url"),
        defaults=kinds._same(
            "{{ salon }}: happy birthday, {{ client_name }}! A gift of {{ value }} off your next visit, "
            "code {{ code }}, until {{ valid_until }}. Unsubscribe: {{ unsubscribe_url }}",
            "【{{ salon }}】{{ client_name }}，生日快乐！送您 {{ value }} 优惠券，券码 {{ code }}，"
            "有效期至 {{ valid_until }}。退订：{{ unsubscribe_url }}",
            "Happy birthday from {{ salon }}",
            "{{ salon }}祝您生日快乐",
        ),
    )
)


def birthday_greeting(coupon) -> None:
    """The greeting that carries a birthday coupon (marketing: consent, quiet hours and caps
    apply when it is sent); planned once the coupon's transaction commits."""
    from django.db import transaction

    from loyalty.selectors import money_text

    coupon_id, customer_id = coupon.pk, coupon.customer_id
    context = {
        "code": coupon.code,
        "value": money_text(coupon.value),
        "valid_until": coupon.valid_until.isoformat(),
    }

    def plan() -> None:
        from customers.models import Customer

        message_enqueue(
            customer=Customer.objects.get(pk=customer_id),
            kind=BIRTHDAY,
            key=f"birthday-msg:{coupon_id}",
            context=context,
        )

    transaction.on_commit(plan)
