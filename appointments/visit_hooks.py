"""What other apps do for a sale as a whole, inside the checkout's and the void's transaction
(an in-transaction registry, like appointments.payments and appointments.line_kinds). loyalty
earns points on what a visit paid and takes them back when it is voided:

- `completed(visit)` runs inside visit_checkout's transaction after every line and payment is
  saved and charged; raising ValidationError rolls the checkout back;
- `voided(visit)` runs inside visit_void's transaction after every payment is refunded and
  every line's kind told; raising rolls the void back.

- `receipt(visit)` (optional) → [(label, value)] printed on the receipt (the balances after the
  visit).

Hooks run in the order they were registered."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class VisitHook:
    key: str
    completed: Callable  # completed(visit)
    voided: Callable  # voided(visit)
    receipt: Callable | None = None  # receipt(visit) -> [(label, value)]


_HOOKS: dict[str, VisitHook] = {}


def register_visit_hook(
    key: str, *, completed: Callable, voided: Callable, receipt: Callable | None = None
) -> None:
    """Both handlers are required: what a checkout did for a visit, its void must undo."""
    _HOOKS[key] = VisitHook(key, completed, voided, receipt)


def unregister_visit_hook(key: str) -> None:
    _HOOKS.pop(key, None)


@contextmanager
def visit_hook_registered(key: str, *, completed: Callable, voided: Callable) -> Iterator[None]:
    """Register for a `with` block (tests); a hook it replaced comes back afterwards."""
    previous = _HOOKS.get(key)
    register_visit_hook(key, completed=completed, voided=voided)
    try:
        yield
    finally:
        if previous is None:
            unregister_visit_hook(key)
        else:
            _HOOKS[key] = previous


def visit_hooks() -> list[VisitHook]:
    return list(_HOOKS.values())


# ---- what the handlers of one sale share ---------------------------------------------------------
# visit_checkout opens a memo on the Visit it saves, for the handlers of that one sale (payment
# methods, line kinds, the hooks above): loyalty keeps there the client's account, locked once
# for the whole transaction, and its settings, read once. The memo is closed when the checkout
# returns or raises, so a Visit instance used afterwards never carries state from a transaction
# that has ended. Keys are the app's own ("loyalty.account").


def sale_memo(visit) -> dict | None:
    """The open memo of the sale `visit` is being saved in, or None (outside a checkout)."""
    return getattr(visit, "_sale_memo", None)


@contextmanager
def sale_memo_open(visit) -> Iterator[dict]:
    """Open the sale's memo for the duration of a `with` block (visit_checkout)."""
    memo: dict = {}
    visit._sale_memo = memo
    try:
        yield memo
    finally:
        visit._sale_memo = None


def receipt_rows(visit) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for hook in _HOOKS.values():
        if hook.receipt is not None:
            rows += hook.receipt(visit)
    return rows


# ---- the appointment dialog's panels ------------------------------------------------------------
# Other apps add a section to the appointment dialog (loyalty: the deposit it needs or holds,
# with a "Take deposit" button): panel(appointment, user) -> (template, context) or None.

_PANELS: dict[str, Callable] = {}


def register_appointment_panel(key: str, panel: Callable) -> None:
    _PANELS[key] = panel


def unregister_appointment_panel(key: str) -> None:
    _PANELS.pop(key, None)


def appointment_panels(appointment, user) -> list[tuple[str, dict]]:
    found = [panel(appointment, user) for panel in _PANELS.values()]
    return [p for p in found if p]


# ---- the online booking's manage page -----------------------------------------------------------
# Other apps add a section to the client's public manage page of a booking (loyalty: "Pay the
# deposit now" when a payment provider is configured): panel(appointment) -> (template,
# context) or None. The page is public: a panel shows nothing about the client.

_ONLINE_PANELS: dict[str, Callable] = {}


def register_online_booking_panel(key: str, panel: Callable) -> None:
    _ONLINE_PANELS[key] = panel


def unregister_online_booking_panel(key: str) -> None:
    _ONLINE_PANELS.pop(key, None)


def online_booking_panels(appointment) -> list[tuple[str, dict]]:
    found = [panel(appointment) for panel in _ONLINE_PANELS.values()]
    return [p for p in found if p]
