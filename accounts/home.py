"""Panels on the Today page. Higher apps (appointments, feedback, analytics) register a function
that returns a panel for the request, or None when it has nothing for this user."""

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Panel:
    template: str
    context: dict = field(default_factory=dict)
    order: int = 100


_PANELS: dict[str, Callable] = {}


def register(key: str, build: Callable) -> None:
    _PANELS[key] = build


def panels_for(request) -> list[Panel]:
    panels = [p for build in _PANELS.values() if (p := build(request)) is not None]
    return sorted(panels, key=lambda p: p.order)
