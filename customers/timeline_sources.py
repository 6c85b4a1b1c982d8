"""customers' own timeline sources: formulas, patch tests and consent changes. Each is one
query of at most `limit` rows, whatever the history length."""

from datetime import datetime, time

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import ColourFormula, ConsentRecord, PatchTest
from customers.privacy import can_read_health
from customers.timeline import TimelineEvent, register


def formula_events(*, customer, user, limit: int) -> list[TimelineEvent]:
    if not can_read_health(user):
        return []
    rows = (
        ColourFormula.objects.filter(customer=customer)
        .select_related("stylist")
        .order_by("-created_at", "-pk")[:limit]
    )
    url = reverse("customers:detail", args=[customer.pk]) + "#formulas"
    return [
        TimelineEvent(
            at=f.created_at,
            kind="formula",
            title=_("Colour formula %(brand)s v%(version)s") % {"brand": f.brand, "version": f.version},
            detail=f.stylist.display_name,
            url=url,
        )
        for f in rows
    ]


def patch_test_events(*, customer, user, limit: int) -> list[TimelineEvent]:
    if not can_read_health(user):
        return []
    rows = PatchTest.objects.filter(customer=customer).order_by("-tested_on", "-pk")[:limit]
    tz = timezone.get_current_timezone()
    return [
        TimelineEvent(
            at=datetime.combine(p.tested_on, time(12), tzinfo=tz),
            kind="patch_test",
            title=_("Patch test: %(product)s") % {"product": p.product},
            detail=p.get_result_display(),
        )
        for p in rows
    ]


def consent_events(*, customer, user, limit: int) -> list[TimelineEvent]:
    rows = ConsentRecord.objects.filter(customer=customer).order_by("-recorded_at", "-pk")[:limit]
    return [
        TimelineEvent(
            at=c.recorded_at,
            kind="consent",
            title=(_("Consent given: %(channel)s") if c.granted else _("Consent withdrawn: %(channel)s"))
            % {"channel": c.get_channel_display()},
            detail=c.method,
        )
        for c in rows
    ]


def register_sources() -> None:
    register("customers.formulas", formula_events)
    register("customers.patch_tests", patch_test_events)
    register("customers.consent", consent_events)
