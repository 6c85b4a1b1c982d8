"""Events other apps hook into (DESIGN.md: a lower app defines the hook, higher apps register).

messaging plans and withdraws reminders on booking events; loyalty awards points, feedback
plans the survey and messaging the thank-you on `visit_completed`. Receivers run after the
transaction commits, so they never see (or act on) a booking that was rolled back."""

from collections.abc import Callable

from django.db import transaction

BOOKING_EVENTS = ("booked", "moved", "cancelled", "no_show", "checked_in")

_booking_receivers: dict[str, Callable] = {}
_visit_completed_receivers: dict[str, Callable] = {}
_visit_voided_receivers: dict[str, Callable] = {}


def on_booking_event(key: str, receiver: Callable) -> None:
    """receiver(kind: str, appointment) — kind is one of BOOKING_EVENTS."""
    _booking_receivers[key] = receiver


def on_visit_completed(key: str, receiver: Callable) -> None:
    """receiver(visit)."""
    _visit_completed_receivers[key] = receiver


def on_visit_voided(key: str, receiver: Callable) -> None:
    """receiver(visit) — e.g. loyalty reverses the points it awarded."""
    _visit_voided_receivers[key] = receiver


def _after_commit(receivers: dict[str, Callable], *args) -> None:
    for receiver in list(receivers.values()):
        transaction.on_commit(lambda r=receiver: r(*args))


def booking_event(kind: str, appointment) -> None:
    if kind not in BOOKING_EVENTS:
        raise ValueError(f"unknown booking event {kind!r}")
    _after_commit(_booking_receivers, kind, appointment)


def visit_completed(visit) -> None:
    _after_commit(_visit_completed_receivers, visit)


def visit_voided(visit) -> None:
    _after_commit(_visit_voided_receivers, visit)
