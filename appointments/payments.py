"""Payment methods (an in-transaction registry). Cash, bank card, WeChat Pay and Alipay are
recorded as they are; loyalty registers stored value, points, package sessions, gift cards and
coupons with a handler pair:

- `charge(visit, payment)` runs inside the checkout's transaction after the Payment row is
  saved (debit the ledger), for each payment in turn: visit.payments.all() then answers the
  payments up to and including this one, from memory (visit.lines.all() answers every line);
  raising ValidationError rolls the whole checkout back;
- `refund(visit, payment)` runs inside the void's transaction for every payment of the visit
  (credit the ledger back); raising rolls the void back.

A method with a charge handler must have a refund handler: money taken through a ledger must be
given back through it when the visit is voided. `available(customer)` (optional) says what the
client has to pay with ("1,250 points = ¥12.50"), shown on the checkout page; None for nothing."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

PaymentHandler = Callable  # handler(visit, payment) -> None


@dataclass(frozen=True)
class PaymentMethod:
    key: str
    label: str  # lazy translation
    charge: PaymentHandler | None = None
    refund: PaymentHandler | None = None
    available: Callable | None = None  # available(customer) -> str | None


_METHODS: dict[str, PaymentMethod] = {}


def register_payment_method(
    key: str,
    label,
    *,
    charge: PaymentHandler | None = None,
    refund: PaymentHandler | None = None,
    available: Callable | None = None,
) -> None:
    if (charge is None) != (refund is None):
        raise ValueError(f"payment method {key!r}: give both a charge and a refund handler, or neither")
    if len(key) > 24:
        raise ValueError(f"payment method {key!r}: at most 24 characters (Payment.method)")
    _METHODS[key] = PaymentMethod(key, label, charge, refund, available)


def unregister_payment_method(key: str) -> None:
    _METHODS.pop(key, None)


@contextmanager
def payment_method_registered(
    key: str, label, *, charge: PaymentHandler | None = None, refund: PaymentHandler | None = None
) -> Iterator[None]:
    """Register for the duration of a `with` block (tests)."""
    register_payment_method(key, label, charge=charge, refund=refund)
    try:
        yield
    finally:
        unregister_payment_method(key)


def payment_method(key: str) -> PaymentMethod | None:
    return _METHODS.get(key)


def payment_method_choices() -> list[tuple[str, str]]:
    return [(m.key, m.label) for m in _METHODS.values()]


def payment_balances(customer) -> list[tuple[str, str]]:
    """(label, what the client has) for every method that can say (the checkout page)."""
    if customer is None:
        return []
    rows = []
    for method in _METHODS.values():
        text = method.available(customer) if method.available else None
        if text:
            rows.append((str(method.label), text))
    return rows


def payment_label(key: str) -> str:
    method = _METHODS.get(key)
    return str(method.label) if method else key


register_payment_method("cash", _("Cash"))
register_payment_method("card", _("Bank card"))
register_payment_method("wechat_pay", _("WeChat Pay"))
register_payment_method("alipay", _("Alipay"))
