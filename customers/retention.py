"""Data retention (PIPL Art. 47, GDPR Art. 5(1)(e) and 17): which clients' files the nightly
task `privacy.retention` erases when an owner has set "erase clients inactive for N years"
(accounts.PrivacySettings.retention_years; empty: off).

A client is **inactive** when, at the same time:

- the file was created before the cutoff (now minus N years) and is not erased yet;
- no registered *activity* rule finds anything on or after the cutoff: appointments register
  "an appointment dated on or after the cutoff, future ones included, any status", visits
  "a visit", loyalty "a points, stored-value or package ledger entry", feedback "a survey or a
  complaint case". customers may not import those apps (apps depend one way), so each registers
  its rule from its AppConfig.ready(), as the bulk scopes do.

An inactive client is **kept** (listed in the report as "kept: <reason>") while a *hold* rule
finds something: loyalty registers "a stored-value balance above zero" and "package sessions
left" - a member's prepaid money is never erased silently. The others are erased.

Every rule is a boolean expression on Customer (an Exists() on an index that starts with the
client), so the whole selection is one statement, whatever the number of clients: no loop per
client decides who goes."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Exists, Q, QuerySet
from django.utils import timezone

from accounts.models import PrivacySettings
from customers.models import Customer

Condition = Callable[[datetime, datetime], Exists]  # condition(cutoff, now): Exists() on Customer


@dataclass(frozen=True)
class RetentionRule:
    """`condition(cutoff, now)` is true for the clients it applies to. An activity rule
    (hold=False) keeps a client out of the selection; a hold rule (hold=True) keeps an
    otherwise inactive client and names why (`label`: "stored-value balance")."""

    key: str
    label: str  # lazy translation
    condition: Condition
    hold: bool = False


_RULES: dict[str, RetentionRule] = {}


def register_retention_rule(rule: RetentionRule) -> None:
    _RULES[rule.key] = rule


def unregister_retention_rule(key: str) -> None:
    _RULES.pop(key, None)


def retention_rules() -> list[RetentionRule]:
    return list(_RULES.values())


def retention_cutoff(*, years: int, now: datetime) -> datetime:
    """`now` minus `years` calendar years (29 February becomes 28 February)."""
    try:
        return now.replace(year=now.year - years)
    except ValueError:
        return now.replace(year=now.year - years, day=28)


def _hold_name(key: str) -> str:
    return "hold_" + "".join(c if c.isalnum() else "_" for c in key)


@dataclass
class RetentionPlan:
    """What the next run would do, as querysets (nothing is read until asked)."""

    years: int
    now: datetime
    cutoff: datetime
    inactive: QuerySet[Customer]  # annotated with one boolean per hold rule
    holds: dict[str, RetentionRule] = field(default_factory=dict)  # annotation name -> rule

    @property
    def erase(self) -> QuerySet[Customer]:
        """The inactive clients no hold keeps: those the run erases."""
        qs = self.inactive
        for name in self.holds:
            qs = qs.filter(**{name: False})
        return qs

    @property
    def kept(self) -> QuerySet[Customer]:
        """Inactive clients kept by a hold (a stored-value balance...)."""
        if not self.holds:
            return self.inactive.none()
        condition = Q()
        for name in self.holds:
            condition |= Q(**{name: True})
        return self.inactive.filter(condition)

    def counts(self) -> tuple[int, int]:
        """(to erase, kept) in one aggregate query."""
        if not self.holds:
            return self.inactive.aggregate(n=Count("pk"))["n"], 0
        held = Q()
        for name in self.holds:
            held |= Q(**{name: True})
        totals = self.inactive.aggregate(erase=Count("pk", filter=~held), kept=Count("pk", filter=held))
        return totals["erase"], totals["kept"]

    def reasons(self, customer: Customer) -> list[str]:
        """The labels of the holds that keep this client (read from its annotations)."""
        return [str(rule.label) for name, rule in self.holds.items() if getattr(customer, name, False)]


def retention_plan_for(*, years: int, now: datetime | None = None) -> RetentionPlan:
    """The selection for an `years`-year retention as of `now`, whatever the setting says."""
    now = now or timezone.now()
    cutoff = retention_cutoff(years=years, now=now)
    qs = Customer.objects.active().filter(created_at__lt=cutoff)
    holds: dict[str, RetentionRule] = {}
    for rule in _RULES.values():
        condition = rule.condition(cutoff, now)
        if rule.hold:
            name = _hold_name(rule.key)
            holds[name] = rule
            qs = qs.annotate(**{name: condition})
        else:
            qs = qs.filter(~condition)
    return RetentionPlan(years=years, now=now, cutoff=cutoff, inactive=qs, holds=holds)


def retention_plan(*, now: datetime | None = None) -> RetentionPlan | None:
    """The next run's plan under the owners' setting; None when retention is off."""
    years = PrivacySettings.current().retention_years
    if not years:
        return None
    return retention_plan_for(years=years, now=now)
