"""What other apps add to the client card: a summary (figures such as visits and spend), the
actions that start from the card (Book, Walk-in) and a section of their own (upcoming
appointments). customers may not import them (apps depend one way), so each registers a provider
from its AppConfig.ready(), as the timeline sources do (customers.timeline).

A provider is called once per card view with the client and the user, returns None when it has
nothing for this user, and runs a constant number of queries whatever the client's history
(the card asserts its query count: tests/customers/test_card_summary.py)."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


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


CardProvider = Callable[..., "CardPanel | None"]  # provider(*, customer, user) -> CardPanel | None
_PROVIDERS: dict[str, CardProvider] = {}


def register(key: str, provider: CardProvider) -> None:
    _PROVIDERS[key] = provider


def unregister(key: str) -> None:
    _PROVIDERS.pop(key, None)


def providers() -> dict[str, CardProvider]:
    """{key: provider} as registered (docs and tests)."""
    return dict(_PROVIDERS)


def panels_for(*, customer, user) -> list[CardPanel]:
    """Every registered provider's panel for this client and user, in `order`."""
    panels = [p for p in (provider(customer=customer, user=user) for provider in _PROVIDERS.values()) if p]
    return sorted(panels, key=lambda p: (p.order, p.key))
