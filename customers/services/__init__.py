"""Every write to client files. One service layer for pages, API, tasks and commands."""

from customers.services.data_rights import (
    JSON_ENCODER,
    access_log_record,
    client_ip,
    customer_erase,
    customer_export,
    customer_export_data,
    encryption_keys_rotate,
    register_erase_hook,
    register_export_section,
)
from customers.services.formulas import (
    ShadeInput,
    formula_correct,
    formula_create,
    patch_test_record,
    patch_test_set_result,
)
from customers.services.profiles import (
    HEALTH_CARD_FIELDS,
    HEALTH_FIELDS,
    PROFILE_FIELDS,
    consent_set,
    customer_create,
    customer_quick_add,
    customer_update,
    duplicate_phone_owner,
    phone_normalise,
    tag_create,
)

__all__ = [
    "HEALTH_CARD_FIELDS",
    "HEALTH_FIELDS",
    "JSON_ENCODER",
    "PROFILE_FIELDS",
    "ShadeInput",
    "access_log_record",
    "client_ip",
    "consent_set",
    "customer_create",
    "customer_erase",
    "customer_export",
    "customer_export_data",
    "customer_quick_add",
    "customer_update",
    "duplicate_phone_owner",
    "encryption_keys_rotate",
    "formula_correct",
    "formula_create",
    "patch_test_record",
    "patch_test_set_result",
    "phone_normalise",
    "register_erase_hook",
    "register_export_section",
    "tag_create",
]
