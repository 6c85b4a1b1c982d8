"""Data-protection writes (PIPL/GDPR): the access log, one client's export, erasure and key
rotation. Other apps hold rows about a client (visits, ledgers, messages); they add their part
of an export with register_export_section and scrub their personal text with
register_erase_hook, so customers never imports them."""

from collections.abc import Callable
from typing import Any

from auditlog.context import disable_auditlog
from auditlog.models import LogEntry
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from customers import events
from customers.models import (
    AccessLog,
    ColourFormula,
    ConsentChannel,
    ConsentRecord,
    Customer,
    MergeRecord,
    PatchTest,
    SafetyOverride,
)
from customers.search import derive_search_fields
from salon_crm.crypto import EncryptedTextField

ExportSection = Callable[[Customer], Any]  # section(customer) -> JSON-able data
EraseHook = Callable[[Customer], None]
_EXPORT_SECTIONS: dict[str, ExportSection] = {}
_ERASE_HOOKS: dict[str, EraseHook] = {}
JSON_ENCODER = DjangoJSONEncoder


def register_export_section(key: str, section: ExportSection) -> None:
    _EXPORT_SECTIONS[key] = section


def unregister_export_section(key: str) -> None:
    _EXPORT_SECTIONS.pop(key, None)


def register_erase_hook(key: str, hook: EraseHook) -> None:
    _ERASE_HOOKS[key] = hook


def unregister_erase_hook(key: str) -> None:
    _ERASE_HOOKS.pop(key, None)


def client_ip(request) -> str | None:
    """The client's address as django-axes resolves it (ipware, trusting exactly
    AXES_PROXY_COUNT proxies), so the access log and the lockout agree on who asked."""
    if request is None:
        return None
    from axes.helpers import get_client_ip_address

    return get_client_ip_address(getattr(request, "_request", request)) or None


def access_log_record(
    *, user, customer: Customer | None, action: str, detail: str = "", ip: str | None = None
) -> AccessLog:
    """One row per full client-file view or export (who, when, which client, what, IP)."""
    return AccessLog.objects.create(
        user=user if getattr(user, "is_authenticated", False) else None,
        customer=customer,
        action=action,
        detail=detail[:200],
        ip_address=ip,
    )


def _customer_data(customer: Customer) -> dict[str, Any]:
    fields = [
        f.name
        for f in Customer._meta.concrete_fields
        if f.name not in ("name_pinyin", "name_initials", "name_pieces", "phone_rev")
    ]
    data = {}
    for name in fields:
        field = Customer._meta.get_field(name)
        value = getattr(customer, field.attname)
        data[field.attname] = str(value) if name == "phone" and value else value
    data["tags"] = [t.name for t in customer.tags.all()]
    return data


def customer_export_data(*, customer: Customer) -> dict[str, Any]:
    """Everything stored about one client, as JSON-able data (DjangoJSONEncoder for dates)."""
    formulas = ColourFormula.objects.filter(customer=customer).prefetch_related("shades").order_by("pk")
    data: dict[str, Any] = {
        "exported_at": timezone.now(),
        "customer": _customer_data(customer),
        "consent_records": list(
            ConsentRecord.objects.filter(customer=customer)
            .order_by("pk")
            .values("channel", "granted", "method", "recorded_at", "note")
        ),
        "formulas": [
            {
                "id": f.pk,
                "version": f.version,
                "supersedes": f.supersedes_id,
                "stylist_id": f.stylist_id,
                "brand": f.brand,
                "line": f.line,
                "developer": f.developer,
                "mix_ratio": f.mix_ratio,
                "zones": f.zones,
                "processing_minutes": f.processing_minutes,
                "result_notes": f.result_notes,
                "created_at": f.created_at,
                "shades": [{"shade": s.shade, "grams": s.grams} for s in f.shades.all()],
            }
            for f in formulas
        ],
        "patch_tests": list(
            PatchTest.objects.filter(customer=customer)
            .order_by("pk")
            .values("product", "tested_on", "result", "valid_until", "notes")
        ),
        "access_log": list(
            AccessLog.objects.filter(customer=customer)
            .order_by("pk")
            .values("at", "action", "detail", "user__username")
        ),
        "safety_overrides": list(
            SafetyOverride.objects.filter(customer=customer)
            .order_by("pk")
            .values("context", "warnings", "reason", "created_at")
        ),
    }
    for key, section in _EXPORT_SECTIONS.items():
        data[key] = section(customer)
    return data


def customer_export(*, customer: Customer, user, ip: str | None = None, via: str = "") -> dict[str, Any]:
    """customer_export_data, logged as an export of this client."""
    data = customer_export_data(customer=customer)
    access_log_record(user=user, customer=customer, action=AccessLog.Action.EXPORT_ONE, detail=via, ip=ip)
    return data


def _audit_entries_of(customer: Customer):
    """Change-history rows that name this client or its formulas / patch tests."""
    by_model = {
        Customer: [customer.pk],
        ColourFormula: list(ColourFormula.objects.filter(customer=customer).values_list("pk", flat=True)),
        PatchTest: list(PatchTest.objects.filter(customer=customer).values_list("pk", flat=True)),
    }
    entries = LogEntry.objects.none()
    for model, pks in by_model.items():
        if pks:
            ct = ContentType.objects.get_for_model(model)
            entries = entries | LogEntry.objects.filter(
                content_type=ct, object_pk__in=[str(pk) for pk in pks]
            )
    return entries


@transaction.atomic
def customer_erase(*, customer: Customer, user, ip: str | None = None, via: str = "") -> Customer:
    """Remove a client's personal data (right to erasure). The row stays, renamed
    "Erased client #ID", so rows other apps hold (visits, ledgers) keep their anonymous
    aggregates; contact, birthday, health, notes and free text on formulas, patch tests,
    consent and overrides are blanked, consent is withdrawn (do not contact), the change
    history that held the old values is deleted, and erased_at is set. Idempotent. Emits
    ERASED after commit (on every call: listeners withdraw what they hold, idempotently)."""
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    # The erase itself must not be logged by auditlog with the old values as "before".
    with disable_auditlog():
        _audit_entries_of(customer).delete()
        customer.name = f"Erased client #{customer.pk}"
        customer.phone = None
        for field in ("email", "gender", "skin_type", "skin_notes", "hair_type", "hair_notes"):
            setattr(customer, field, "")
        for field in ("allergies", "contraindications", "medical_notes", "preferences", "notes"):
            setattr(customer, field, "")
        customer.birthday = None
        customer.external_id = None
        customer.referred_by = None
        customer.consent_sms = customer.consent_email = customer.consent_wechat = False
        customer.do_not_contact = True
        customer.erased_at = customer.erased_at or timezone.now()
        derive_search_fields(customer)
        customer.save()
        customer.tags.clear()
        ColourFormula.objects.filter(customer=customer).update(result_notes="", zones="")
        PatchTest.objects.filter(customer=customer).update(notes="")
        ConsentRecord.objects.filter(customer=customer).update(note="")
        SafetyOverride.objects.filter(customer=customer).update(warnings=[], reason="[erased]")
        Customer.objects.filter(referred_by=customer).update(referred_by=None)
        MergeRecord.objects.filter(kept=customer).update(merged_name="")
        ConsentRecord.objects.create(
            customer=customer, channel=ConsentChannel.ALL, granted=False, method="erasure"
        )
        for hook in _ERASE_HOOKS.values():
            hook(customer)
    access_log_record(user=user, customer=customer, action=AccessLog.Action.ERASE, detail=via, ip=ip)
    events.customer_event(events.ERASED, customer_id=customer.pk, by=user)
    return customer


def _encrypted_columns() -> list[tuple[type, list[str]]]:
    """Every model with EncryptedTextField columns, in any app (customers holds them today)."""
    found = []
    for model in apps.get_models():
        fields = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if fields:
            found.append((model, fields))
    return found


def encryption_keys_rotate(*, batch_size: int = 500, log: Callable[[str], None] | None = None) -> int:
    """Re-encrypt every EncryptedTextField column with the newest FIELD_ENCRYPTION_KEYS key, in
    batches of `batch_size` rows (one transaction each, so a long run holds no big lock).
    Rows are read with any configured key and written with the first; returns the row count.
    Raises crypto.DecryptionError if a row cannot be read with any key (nothing of that batch
    is written). Safe to re-run."""
    done = 0
    for model, fields in _encrypted_columns():
        last_pk = 0
        while True:
            with transaction.atomic():
                batch = list(
                    model._default_manager.filter(pk__gt=last_pk)
                    .order_by("pk")
                    .only("pk", *fields)[:batch_size]
                )
                if not batch:
                    break
                # bulk_update sends no signals: the change history gets no (redacted) noise.
                model._default_manager.bulk_update(batch, fields)
            done += len(batch)
            last_pk = batch[-1].pk
            if log:
                log(f"{model._meta.label}: re-encrypted up to id {last_pk}")
    return done
