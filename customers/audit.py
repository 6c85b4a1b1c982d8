"""Change history (django-auditlog) for client files. The encrypted fields (the client's health
fields, a patch test's notes) are masked with customers.privacy.redact_for_audit: the history
shows that one was set or cleared, never its text (LogEntry.changes is plain JSON). Derived
search columns are left out (noise). Safety overrides are not registered: the override row is
itself the record (who, when, which warning codes, the encrypted reason)."""

from auditlog.registry import auditlog

from customers.models import ColourFormula, Customer, FormulaShade, PatchTest

REDACT = "customers.privacy.redact_for_audit"


def register_models() -> None:
    if auditlog.contains(Customer):
        return
    auditlog.register(
        Customer,
        exclude_fields=[
            "name_pinyin",
            "name_initials",
            "name_pieces",
            "name_surname_key",
            "phone_rev",
            "updated_at",
        ],
        mask_fields=["allergies", "contraindications", "medical_notes"],
        mask_callable=REDACT,
        m2m_fields={"tags"},
    )
    auditlog.register(ColourFormula)
    auditlog.register(FormulaShade)
    auditlog.register(PatchTest, mask_fields=["notes"], mask_callable=REDACT)
