"""Payment methods. Cash, card, WeChat Pay and Alipay are recorded as they are; loyalty
registers stored value, points, package sessions and coupons with a handler that debits its
ledger. A handler is called inside the checkout transaction with (visit, payment) and may raise
ValidationError, which rolls the whole checkout back."""

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

PaymentHandler = Callable  # handler(visit, payment) -> None


@dataclass(frozen=True)
class PaymentMethod:
    key: str
    label: str  # lazy translation
    handler: PaymentHandler | None = None


_METHODS: dict[str, PaymentMethod] = {}


def register_payment_method(key: str, label, handler: PaymentHandler | None = None) -> None:
    _METHODS[key] = PaymentMethod(key, label, handler)


def payment_method(key: str) -> PaymentMethod | None:
    return _METHODS.get(key)


def payment_methods() -> list[PaymentMethod]:
    """In registration order (built-ins first)."""
    return list(_METHODS.values())


def payment_method_choices() -> list[tuple[str, str]]:
    return [(m.key, m.label) for m in _METHODS.values()]


register_payment_method("cash", _("Cash"))
register_payment_method("card", _("Bank card"))
register_payment_method("wechat_pay", _("WeChat Pay"))
register_payment_method("alipay", _("Alipay"))
