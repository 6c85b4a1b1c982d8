"""Filters that other apps add to the client list (/customers/). customers may not import them
(apps depend one way), so each registers a ListFilter from its AppConfig.ready(), as the card's
providers do (customers.card): analytics adds the RFM segment and the client classes.

A filter is one query parameter (`key`) with a fixed set of choices, shown as a select above
the list, and a function that narrows a Customer queryset to one choice with a set-based
condition (no per-client Python): the list keeps its pagination and query count."""

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import QuerySet

# [(group label, [(value, label), ...]), ...]: one <optgroup> per group
Choices = list[tuple[str, list[tuple[str, str]]]]


@dataclass(frozen=True)
class ListFilter:
    key: str  # the query parameter, e.g. "class"
    label: str  # lazy translation: the select's label
    all_label: str  # lazy translation: the first option, "every client"
    choices: Callable[[], Choices]
    apply: Callable[[QuerySet, str], QuerySet]  # apply(queryset, value) -> queryset
    order: int = 100

    def values(self) -> set[str]:
        return {value for _group, options in self.choices() for value, _label in options}


_FILTERS: dict[str, ListFilter] = {}


def register(item: ListFilter) -> None:
    _FILTERS[item.key] = item


def unregister(key: str) -> None:
    _FILTERS.pop(key, None)


def list_filters() -> list[ListFilter]:
    return sorted(_FILTERS.values(), key=lambda f: (f.order, f.key))


@dataclass
class Applied:
    """A registered filter as the request asked for it: `value` "" (every client), or one of
    its choices; `wrong` holds what was asked when it is not one (the list says so)."""

    filter: ListFilter
    value: str = ""
    wrong: str = ""


def from_request(params) -> list[Applied]:
    applied = []
    for item in list_filters():
        asked = params.get(item.key, "").strip()[:40]
        if not asked or asked in item.values():
            applied.append(Applied(item, asked))
        else:
            applied.append(Applied(item, "", wrong=asked))
    return applied


def narrow(qs: QuerySet, applied: list[Applied]) -> QuerySet:
    for a in applied:
        if a.value:
            qs = a.filter.apply(qs, a.value)
    return qs
