"""Reads that may be seconds stale go to a read replica (docs/performance.md, "Past one machine").

With DATABASE_REPLICA_URL set, settings adds the "replica" database. A view that only reads
figures a manager can take seconds late (the dashboards, their drill-down lists and CSV, the
at-risk list, the managers' reports, the metrics API) runs inside `replica_reads()` (the
`reads_from_replica` decorator, or `ReplicaReadsMixin` for an API view): its ORM reads go to the
replica. Everything else reads the primary, and every write goes to the primary whatever the
context: bookings, checkouts and ledgers never touch the replica. Inside a transaction on the
primary (a view that wrote and reads its own write back) reads stay on the primary too.

Without a replica the context changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

REPLICA = "replica"
_replica_reads: ContextVar[bool] = ContextVar("replica_reads", default=False)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


@contextmanager
def replica_reads() -> Iterator[None]:
    token = _replica_reads.set(True)
    try:
        yield
    finally:
        _replica_reads.reset(token)


def _streamed_from_replica(content):
    """A streaming response's rows are read while it is sent, after the view returned."""
    with replica_reads():
        yield from content


def reads_from_replica(view):
    """Run a (function) view's reads on the replica, a streamed body's too."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        with replica_reads():
            response = view(request, *args, **kwargs)
        if getattr(response, "streaming", False):
            response.streaming_content = _streamed_from_replica(response.streaming_content)
        return response

    return wrapped


class ReplicaReadsMixin:
    """For an APIView whose GET only reads figures that may be seconds stale."""

    def dispatch(self, request, *args, **kwargs):
        with replica_reads():
            return super().dispatch(request, *args, **kwargs)


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        if (
            _replica_reads.get()
            and replica_configured()
            and not connections[DEFAULT_DB_ALIAS].in_atomic_block
        ):
            return REPLICA
        return None  # the primary

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS  # always the primary

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the replica holds the same rows

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db != REPLICA  # it follows the primary
