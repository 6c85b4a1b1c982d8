"""The client card's history timeline. Each app registers a source; a source returns at most
`limit` recent events for one client in a constant number of queries (no N+1 as history grows).
customers registers formulas, patch tests and consent; appointments adds visits, loyalty adds
ledger entries, feedback surveys, messaging messages."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class TimelineEvent:
    at: datetime
    kind: str  # "visit", "formula", "patch_test", "consent", "points", "survey", "message"...
    title: str
    detail: str = ""
    url: str = ""


TimelineSource = Callable[..., list[TimelineEvent]]  # source(*, customer, user, limit) -> events
_SOURCES: dict[str, TimelineSource] = {}


def register(key: str, source: TimelineSource) -> None:
    _SOURCES[key] = source


def unregister(key: str) -> None:
    _SOURCES.pop(key, None)


def sources() -> dict[str, TimelineSource]:
    """{key: source} as registered (docs and tests)."""
    return dict(_SOURCES)


def timeline_for(*, customer, user, limit: int = 30) -> list[TimelineEvent]:
    """The newest `limit` events across every registered source, newest first."""
    events: list[TimelineEvent] = []
    for source in _SOURCES.values():
        events.extend(source(customer=customer, user=user, limit=limit))
    events.sort(key=lambda e: e.at, reverse=True)
    return events[:limit]
