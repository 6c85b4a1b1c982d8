"""Domain errors shared by every app. Services raise these (or Django's ValidationError);
the API exception handler and the page views turn them into 409 / 400 / form errors."""

from django.utils.translation import gettext_lazy as _


class Conflict(Exception):
    """The request is well-formed but collides with the current state (HTTP 409)."""

    code = "conflict"
    default_message = _("This conflicts with existing data.")

    def __init__(self, message=None, *, code: str | None = None, extra: dict | None = None):
        self.message = message or self.default_message
        if code:
            self.code = code
        self.extra = extra or {}
        super().__init__(str(self.message))
