"""What other apps add to the client card: a summary (figures such as visits and spend), the
actions that start from the card (Book, Walk-in) and a section of their own (upcoming
appointments). customers may not import them (apps depend one way), so each registers a provider
from its AppConfig.ready(), as the timeline sources do (customers.timeline).

A provider is called once per card view with the client and the user and returns None when it
has nothing for this user. What it reads it declares as `reads(*, user, now)`: {name:
expression on Customer} (figures as subqueries, short lists as salon_crm.rows.rows()), which the
card reads with every other panel's and timeline source's in the client's one statement
(customers.selectors.customer_card); the provider is then called with `now` and `data`, the
decoded {name: value}. The card compiles that statement once per kind of user and runs it again
for every client and moment (salon_crm.rows.read_row): `reads` gets the time as an expression
(salon_crm.rows.NOW; salon_crm.rows.local_date for today) and may depend on nothing but the user
(permissions, role, staff record). A provider without `reads` runs its own queries. The card
asserts its query count: tests/customers/test_card_summary.py."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone

from salon_crm import rows


@dataclass(frozen=True)
class CardFact:
    """One figure of the summary strip: "Visits (12 months)": "7"."""

    key: str
    label: str
    value: str
    detail: str = ""  # a second line in small print: "¥4,200 spent", "2026-11-02 · 静安店"
    tone: str = ""  # "" or "warning" (no-shows, late cancellations worth a look)


@dataclass(frozen=True)
class CardAction:
    """A button in the card's header. `dialog`: the URL answers with a dialog fragment (htmx),
    opened over the card (static/js/dialogs.js); otherwise a plain link."""

    key: str
    label: str
    url: str
    primary: bool = False
    dialog: bool = False


@dataclass(frozen=True)
class CardPanel:
    """A provider's contribution. `template` (optional) is included in the card's right-hand
    column with `panel` and `customer` in its context; `data` is the provider's own, for it."""

    key: str
    title: str = ""
    facts: tuple[CardFact, ...] = ()
    actions: tuple[CardAction, ...] = ()
    template: str = ""
    data: Any = None
    order: int = 100


# provider(*, customer, user[, now, data]) -> CardPanel | None; reads(*, user, now) -> {name: expression}
CardProvider = Callable[..., "CardPanel | None"]
CardReads = Callable[..., dict[str, Any]]
_PROVIDERS: dict[str, CardProvider] = {}
_READS: dict[str, CardReads] = {}


def register(key: str, provider: CardProvider, *, reads: CardReads | None = None) -> None:
    _PROVIDERS[key] = provider
    if reads is None:
        _READS.pop(key, None)
    else:
        _READS[key] = reads


def unregister(key: str) -> None:
    _PROVIDERS.pop(key, None)
    _READS.pop(key, None)


def providers() -> dict[str, CardProvider]:
    """{key: provider} as registered (docs and tests)."""
    return dict(_PROVIDERS)


def registered_reads() -> dict[str, CardReads]:
    """{key: reads} as registered (tests re-register what they take away)."""
    return dict(_READS)


def reads_for(*, user, now: datetime) -> dict[str, dict[str, Any]]:
    """{provider key: {name: expression}}: what every provider reads, for the client's statement."""
    return {key: reads(user=user, now=now) for key, reads in _READS.items()}


def panels_for(*, customer, user, now: datetime | None = None, data: dict | None = None) -> list[CardPanel]:
    """Every registered provider's panel for this client and user, in `order`. `data`: what
    reads_for(user, now) found on the client's row, by provider (None: read now, in one
    statement for every provider with reads)."""
    now = now or timezone.now()
    if data is None and _READS:
        data = rows.read_one(customer, reads_for(user=user, now=now))
    panels = []
    for key, provider in _PROVIDERS.items():
        if key in _READS:
            panel = provider(customer=customer, user=user, now=now, data=(data or {}).get(key, {}))
        else:
            panel = provider(customer=customer, user=user)
        if panel:
            panels.append(panel)
    return sorted(panels, key=lambda p: (p.order, p.key))
