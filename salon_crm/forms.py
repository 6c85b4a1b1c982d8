"""Form helpers shared by every app."""

from django import forms

from salon_crm.validators import ControlCharacterValidator, validate_single_line_text


class TextHygieneMixin:
    """Single-line text inputs refuse tabs and line breaks as well as control characters (the
    multi-line rule is every CharField's default: salon_crm.validators). A field is multi-line
    when its widget is a Textarea; password inputs are left alone (a password is not text we
    show or export). Applied when the form is cleaned, so fields a form adds in its own
    __init__ (after this mixin's) are covered too."""

    def full_clean(self):
        for field in self.fields.values():
            if not isinstance(field, forms.CharField):
                continue
            if isinstance(field.widget, (forms.Textarea, forms.PasswordInput)):
                continue
            # instead of the multi-line default, so a control character is reported once
            kept = [v for v in field.validators if not isinstance(v, ControlCharacterValidator)]
            field.validators = [*kept, validate_single_line_text]
        super().full_clean()
