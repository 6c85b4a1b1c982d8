"""Default permissions of each role for messaging (DESIGN.md, Roles: templates and the delivery
log are the manager's)."""

from accounts.models import Role

M = "messaging."
_MANAGE = [
    M + p
    for p in ("manage_messages", "view_outboundmessage", "view_messagetemplate", "change_messagetemplate")
]

ROLE_PERMISSIONS = {
    Role.OWNER: _MANAGE,
    Role.MANAGER: _MANAGE,
}
