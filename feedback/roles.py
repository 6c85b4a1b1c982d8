"""Default permissions of each role for feedback (DESIGN.md: the desk takes complaints; the
managers own the cases, the compensation and the results; stylists see their own cases,
surveys and follow-up calls, and record their calls)."""

from accounts.models import Role

F = "feedback."
_DESK = [
    F + "view_complaint",
    F + "add_complaint",
    F + "view_followup",
    F + "add_followup",
    F + "change_followup",
]
_MANAGE = [
    *_DESK,
    F + "manage_complaint",
    F + "compensate_complaint",
    F + "view_complaintaction",
    F + "view_survey",
    F + "view_survey_results",
]

ROLE_PERMISSIONS = {
    Role.OWNER: _MANAGE,
    Role.MANAGER: _MANAGE,
    Role.RECEPTIONIST: _DESK,
    # their own only (feedback.selectors scopes every read to the stylist)
    Role.STYLIST: [
        F + "view_complaint",
        F + "view_followup",
        F + "add_followup",
        F + "change_followup",
        F + "view_survey",
    ],
}
