"""customers' own timeline sources: formulas, patch tests and consent changes, each a list of at
most `limit` rows read in the card's statement (customers.timeline)."""

from datetime import datetime, time

from django.db.models import OuterRef
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import ColourFormula, ConsentRecord, PatchTest
from customers.privacy import can_read_health
from customers.timeline import TimelineEvent, register
from salon_crm.rows import build_all, obj, rows


def formula_reads(*, user, limit: int) -> dict:
    if not can_read_health(user):
        return {}
    latest = ColourFormula.objects.filter(customer=OuterRef("pk")).order_by("-created_at", "-pk")
    return {
        "formulas": rows(
            latest[:limit],
            id="pk",
            created_at="created_at",
            brand="brand",
            version="version",
            stylist=obj(id="stylist_id", display_name="stylist__display_name"),
        )
    }


def formula_events(*, customer, user, limit: int, data: dict) -> list[TimelineEvent]:
    url = reverse("customers:detail", args=[customer.pk]) + "#formulas"
    return [
        TimelineEvent(
            at=f.created_at,
            kind="formula",
            title=_("Colour formula %(brand)s v%(version)s") % {"brand": f.brand, "version": f.version},
            detail=f.stylist.display_name,
            url=url,
        )
        for f in build_all(ColourFormula, data.get("formulas"))
    ]


def patch_test_reads(*, user, limit: int) -> dict:
    if not can_read_health(user):
        return {}
    latest = PatchTest.objects.filter(customer=OuterRef("pk")).order_by("-tested_on", "-pk")
    return {
        "patch_tests": rows(
            latest[:limit], id="pk", tested_on="tested_on", product="product", result="result"
        )
    }


def patch_test_events(*, customer, user, limit: int, data: dict) -> list[TimelineEvent]:
    tz = timezone.get_current_timezone()
    return [
        TimelineEvent(
            at=datetime.combine(p.tested_on, time(12), tzinfo=tz),
            kind="patch_test",
            title=_("Patch test: %(product)s") % {"product": p.product},
            detail=p.get_result_display(),
        )
        for p in build_all(PatchTest, data.get("patch_tests"))
    ]


def consent_reads(*, user, limit: int) -> dict:
    latest = ConsentRecord.objects.filter(customer=OuterRef("pk")).order_by("-recorded_at", "-pk")
    return {
        "consent": rows(
            latest[:limit],
            id="pk",
            recorded_at="recorded_at",
            channel="channel",
            granted="granted",
            method="method",
        )
    }


def consent_events(*, customer, user, limit: int, data: dict) -> list[TimelineEvent]:
    return [
        TimelineEvent(
            at=c.recorded_at,
            kind="consent",
            title=(_("Consent given: %(channel)s") if c.granted else _("Consent withdrawn: %(channel)s"))
            % {"channel": c.get_channel_display()},
            detail=c.method,
        )
        for c in build_all(ConsentRecord, data.get("consent"))
    ]


def register_sources() -> None:
    register("customers.formulas", formula_events, reads=formula_reads)
    register("customers.patch_tests", patch_test_events, reads=patch_test_reads)
    register("customers.consent", consent_events, reads=consent_reads)
