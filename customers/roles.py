"""Default permissions of each role for client files (DESIGN.md, Roles)."""

from accounts.models import Role

C = "customers."
_BASE = [C + p for p in ("view_customer", "add_customer", "change_customer", "view_tag")]
_HEALTH_READ = [C + p for p in ("view_health", "view_colourformula", "view_patchtest", "view_consentrecord")]
_HEALTH_WRITE = [C + p for p in ("change_health", "add_colourformula", "add_patchtest", "change_patchtest")]
_MANAGE = [
    C + p
    for p in (
        "view_full_phone",
        "export_customer",
        "erase_customer",
        "merge_customer",
        "override_safety",
        "add_tag",
        "change_tag",
        "view_accesslog",
        "add_consentrecord",
    )
]

ROLE_PERMISSIONS = {
    Role.OWNER: _BASE + _HEALTH_READ + _HEALTH_WRITE + _MANAGE + [C + "delete_customer"],
    Role.MANAGER: _BASE + _HEALTH_READ + _HEALTH_WRITE + _MANAGE,
    # Reception reads health (to warn at booking) but does not write it; sees full phones.
    Role.RECEPTIONIST: _BASE
    + _HEALTH_READ
    + [C + "view_full_phone", C + "override_safety", C + "add_consentrecord"],
    # Stylists read and write health and formulas; phones are masked for them. They confirm the
    # safety warnings at the chair (appointments: Start, a colour formula), with a reason.
    Role.STYLIST: [C + "view_customer", C + "view_tag"]
    + _HEALTH_READ
    + _HEALTH_WRITE
    + [C + "override_safety"],
}
