"""The client card's history timeline. Each app registers a source; a source returns at most
`limit` recent events for one client. customers registers formulas, patch tests and consent;
appointments adds visits, loyalty adds ledger entries, feedback surveys, messaging messages.

What a source reads it declares as `reads(*, user, limit)`: {name: expression on Customer}
(salon_crm.rows.rows() of at most `limit` rows), read with the card's other reads in the
client's one statement (customers.selectors.customer_card); the source is then called with
`data`, the decoded {name: value}, and runs no query of its own. Like a card panel's, `reads`
may depend on nothing but the user and `limit` (customers.card). A source without `reads` runs
its own queries (a constant number whatever the history length)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from salon_crm import rows


@dataclass(frozen=True)
class TimelineEvent:
    at: datetime
    kind: str  # "visit", "formula", "patch_test", "consent", "points", "survey", "message"...
    title: str
    detail: str = ""
    url: str = ""


# source(*, customer, user, limit[, data]) -> events; reads(*, user, limit) -> {name: expression}
TimelineSource = Callable[..., list[TimelineEvent]]
TimelineReads = Callable[..., dict[str, Any]]
_SOURCES: dict[str, TimelineSource] = {}
_READS: dict[str, TimelineReads] = {}


def register(key: str, source: TimelineSource, *, reads: TimelineReads | None = None) -> None:
    _SOURCES[key] = source
    if reads is None:
        _READS.pop(key, None)
    else:
        _READS[key] = reads


def unregister(key: str) -> None:
    _SOURCES.pop(key, None)
    _READS.pop(key, None)


def sources() -> dict[str, TimelineSource]:
    """{key: source} as registered (docs and tests)."""
    return dict(_SOURCES)


def registered_reads() -> dict[str, TimelineReads]:
    """{key: reads} as registered (tests re-register what they take away)."""
    return dict(_READS)


def reads_for(*, user, limit: int) -> dict[str, dict[str, Any]]:
    """{source key: {name: expression}}: what every source reads, for the client's statement."""
    return {key: reads(user=user, limit=limit) for key, reads in _READS.items()}


def timeline_for(*, customer, user, limit: int = 30, data: dict | None = None) -> list[TimelineEvent]:
    """The newest `limit` events across every registered source, newest first. `data`: what
    reads_for(user, limit) found on the client's row, by source (None: read now, in one
    statement for every source with reads)."""
    if data is None and _READS:
        data = rows.read_one(customer, reads_for(user=user, limit=limit))
    events: list[TimelineEvent] = []
    for key, source in _SOURCES.items():
        if key in _READS:
            events.extend(source(customer=customer, user=user, limit=limit, data=(data or {}).get(key, {})))
        else:
            events.extend(source(customer=customer, user=user, limit=limit))
    events.sort(key=lambda e: e.at, reverse=True)
    return events[:limit]
