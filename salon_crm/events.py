"""After-commit events: how one app reacts to another app's writes without the lower app
importing the higher one (docs/architecture.md, "Events").

A lower app owns a bus and the typed events it emits; higher apps subscribe from their
`AppConfig.ready()`. An event carries ids, the actor and the time, never live model instances
(a listener reads what it needs, after the commit, in its own transaction). Listeners run only
once the writing transaction has committed, one by one; a listener that raises is logged and
skipped: it never turns a committed write into an error, and the other listeners still run.

What must be all-or-nothing with the write (money, merges) is not an event: those are the
in-transaction registries (appointments.payments, appointments.line_kinds, customers merge
handlers)."""

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from django.db import transaction

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """The fields every event has; each bus defines its own subclass with the ids it carries."""

    kind: str
    at: datetime
    actor_id: int | None  # the user who acted; None for the client's own link or the system


Listener = Callable[[Event], None]


def actor_id(user) -> int | None:
    """The acting user's id for an event; None for the system (commands, imports) or a client
    acting through a signed link (no login)."""
    return getattr(user, "pk", None) if getattr(user, "is_authenticated", False) else None


class EventBus:
    def __init__(self, name: str, kinds: Iterable[str]):
        self.name = name
        self.kinds = frozenset(kinds)
        self._listeners: dict[str, tuple[Listener, frozenset[str]]] = {}

    def subscribe(self, key: str, listener: Listener, *, kinds: Iterable[str] | None = None) -> None:
        """Call `listener(event)` after commit for each event of `kinds` (all kinds if None).
        `key` names the subscription (one per key: subscribing again replaces it)."""
        wanted = self.kinds if kinds is None else frozenset(kinds)
        unknown = wanted - self.kinds
        if unknown:
            raise ValueError(f"{self.name}: unknown event kinds {sorted(unknown)}")
        self._listeners[key] = (listener, wanted)

    def unsubscribe(self, key: str) -> None:
        self._listeners.pop(key, None)

    @contextmanager
    def listening(
        self, key: str, listener: Listener, *, kinds: Iterable[str] | None = None
    ) -> Iterator[None]:
        """Subscribe for the duration of a `with` block (tests, one-off scripts)."""
        self.subscribe(key, listener, kinds=kinds)
        try:
            yield
        finally:
            self.unsubscribe(key)

    def subscriptions(self) -> dict[str, frozenset[str]]:
        """{key: kinds}: who listens to what (docs and tests)."""
        return {key: kinds for key, (_listener, kinds) in self._listeners.items()}

    def emit(self, event: Event) -> None:
        """Schedule every interested listener to run after the current transaction commits
        (at once when there is none). Dropped if the transaction rolls back."""
        if event.kind not in self.kinds:
            raise ValueError(f"{self.name}: unknown event kind {event.kind!r}")
        for key, (listener, kinds) in list(self._listeners.items()):
            if event.kind in kinds:
                transaction.on_commit(partial(self._deliver, key, listener, event), robust=True)

    def _deliver(self, key: str, listener: Listener, event: Event) -> None:
        try:
            listener(event)
        except Exception as exc:  # a listener's failure is its own; the write has committed
            from salon_crm.unavailable import database_unavailable

            reason = database_unavailable(exc)
            if reason is None:
                logger.exception("%s listener %r failed on %s", self.name, key, event)
            else:
                # The database went away after the write committed: one line, no stack. What the
                # listener would have written is caught up by its repair (messages: a sweep every
                # ten minutes; the analytics' marks: the nightly rebuild).
                logger.warning(
                    "%s listener %r missed %s: database %s (%s)", self.name, key, event, reason, exc
                )
