"""What checkout can sell (an in-transaction registry). appointments registers services and
retail products; loyalty registers a stored-value top-up, a package and a gift card with its own
handlers, and they go through the same checkout, receipt and void as a haircut:

- `price(line)` → (description, catalogue unit price or None): validates the line (raise
  ValidationError on `lines`); None means the line must carry its own unit price (a top-up of
  any amount);
- `sold(visit, visit_line, line)` runs inside the checkout's transaction once the VisitLine is
  saved (credit the stored value, open the package); raising rolls the checkout back;
- `voided(visit, visit_line)` runs inside the void's transaction (take the top-up back);
  raising rolls the void back. A kind with `sold` must have `voided`.

A kind registered with `by_amount=True` is sold for an amount the desk types (a top-up, a gift
card): the checkout page offers an amount field for it beside the lines. A kind with `choices`
(`choices(customer)` answering [(ref, label)]: the package plans on sale, the client's open
fees) gets a select of them there when the list is not empty."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import StaffMember
from appointments.models import Product, Service, VisitLine

BUILT_IN = (VisitLine.Kind.SERVICE, VisitLine.Kind.PRODUCT, "tip")


@dataclass(frozen=True)
class CheckoutLine:
    """One line of a sale, as pages and API hand it to visit_checkout / checkout_quote."""

    kind: str  # a registered line kind: "service", "product", or another app's ("topup"...)
    service: Service | None = None  # for kind "service"
    product: Product | None = None  # for kind "product"
    staff: StaffMember | None = None  # who is credited (services; retail if the salon wants)
    quantity: int = 1
    unit_price: Decimal | None = None  # None: the catalogue price
    discount: Decimal = Decimal("0")
    ref: str = ""  # what another app's kind sells (a package plan id, a gift card code...)


PriceFn = Callable[[CheckoutLine], tuple[str, Decimal | None]]


@dataclass(frozen=True)
class LineKind:
    key: str
    label: str  # lazy translation
    price: PriceFn
    sold: Callable | None = None  # sold(visit, visit_line, line)
    voided: Callable | None = None  # voided(visit, visit_line)
    by_amount: bool = False  # the checkout page offers an amount field for it
    choices: Callable | None = None  # choices(customer) -> [(ref, label)]: a select on the checkout page
    to_stylist: bool = False  # the page credits it to the stylist of the first service line (a tip)


_KINDS: dict[str, LineKind] = {}


def register_line_kind(
    key: str,
    label,
    *,
    price: PriceFn,
    sold: Callable | None = None,
    voided: Callable | None = None,
    by_amount: bool = False,
    choices: Callable | None = None,
    to_stylist: bool = False,
) -> None:
    if (sold is None) != (voided is None):
        raise ValueError(f"line kind {key!r}: give both a sold and a voided handler, or neither")
    if len(key) > 24:
        raise ValueError(f"line kind {key!r}: at most 24 characters (VisitLine.kind)")
    _KINDS[key] = LineKind(key, label, price, sold, voided, by_amount, choices, to_stylist)


def unregister_line_kind(key: str) -> None:
    if key in BUILT_IN:
        raise ValueError("the built-in line kinds stay registered")
    _KINDS.pop(key, None)


@contextmanager
def line_kind_registered(
    key: str, label, *, price: PriceFn, sold: Callable | None = None, voided: Callable | None = None
) -> Iterator[None]:
    register_line_kind(key, label, price=price, sold=sold, voided=voided)
    try:
        yield
    finally:
        unregister_line_kind(key)


def line_kind(key: str) -> LineKind | None:
    return _KINDS.get(key)


def kinds_sold_by_amount() -> list[LineKind]:
    """The kinds the checkout page sells for a typed amount, in registration order."""
    return [k for k in _KINDS.values() if k.by_amount]


def kinds_sold_by_choice() -> list[LineKind]:
    """The kinds the checkout page sells from a list (package plans), in registration order."""
    return [k for k in _KINDS.values() if k.choices is not None]


def _service_price(line: CheckoutLine) -> tuple[str, Decimal]:
    if line.service is None:
        raise ValidationError({"lines": [_("A service line needs a service.")]})
    return str(line.service), line.service.price


def _product_price(line: CheckoutLine) -> tuple[str, Decimal]:
    if line.product is None:
        raise ValidationError({"lines": [_("A product line needs a product.")]})
    return str(line.product), line.product.price


def _tip_price(line: CheckoutLine) -> tuple[str, None]:
    """A tip: any amount, one per line, for the stylist it is credited to."""
    if line.quantity != 1:
        raise ValidationError({"lines": [_("One tip per line.")]})
    if line.unit_price is not None and line.unit_price <= 0:
        raise ValidationError({"lines": [_("A tip must be more than zero.")]})
    if line.discount:
        raise ValidationError({"lines": [_("A tip is not discounted.")]})
    return (_("Tip for %(name)s") % {"name": line.staff} if line.staff else _("Tip")), None


TIP = "tip"
register_line_kind(VisitLine.Kind.SERVICE, gettext_lazy("Service"), price=_service_price)
register_line_kind(VisitLine.Kind.PRODUCT, gettext_lazy("Product"), price=_product_price)
# Tips go to the stylist (the line's staff): not a sale of the salon's, so loyalty neither
# earns on them nor lets its credit pay them, and member discounts leave them alone.
register_line_kind(
    TIP, gettext_lazy("Tip for the stylist"), price=_tip_price, by_amount=True, to_stylist=True
)


# ---- price rules ---------------------------------------------------------------------------------
# A rule takes a share off a client's services and products at checkout (loyalty: the member
# tier's discount). checkout_quote asks every rule; the discount goes into each line's own
# discount (so a stylist's revenue is what was really paid) and shows as one visible row.


@dataclass(frozen=True)
class PriceRule:
    label: str  # "Gold member 10%": shown at checkout and on the receipt
    percent: Decimal  # 0 < percent <= 100


PriceRuleFn = Callable  # rule(customer) -> PriceRule | None
_RULES: dict[str, PriceRuleFn] = {}


def register_price_rule(key: str, rule: PriceRuleFn) -> None:
    _RULES[key] = rule


def unregister_price_rule(key: str) -> None:
    _RULES.pop(key, None)


def price_rule_for(customer) -> PriceRule | None:
    """The largest share any rule gives this client (rules do not add up)."""
    if customer is None:
        return None
    found = [r for r in (rule(customer) for rule in _RULES.values()) if r is not None and r.percent > 0]
    return max(found, key=lambda r: r.percent) if found else None
