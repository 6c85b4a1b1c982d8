"""Input shapes for the front-desk pages and online booking. No business rules here: the forms
turn local wall-clock input into aware datetimes of the location and the services decide."""

from datetime import date, datetime, timedelta
from decimal import Decimal

from django import forms
from django.core.validators import MinValueValidator
from django.utils.translation import gettext_lazy as _
from phonenumber_field.formfields import PhoneNumberField

from accounts.models import Location, StaffMember
from appointments.models import Product, Service
from appointments.services.rules import local_dt
from customers.models import Customer

MONEY = {"max_digits": 12, "decimal_places": 2, "validators": [MinValueValidator(Decimal("0"))]}


class StyledForm(forms.Form):
    """Bootstrap classes on every widget (small controls: the dialogs are dense)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, (forms.CheckboxInput, forms.CheckboxSelectMultiple, forms.HiddenInput)):
                continue
            css = (
                "form-select form-select-sm"
                if isinstance(widget, forms.Select)
                else "form-control form-control-sm"
            )
            widget.attrs.setdefault("class", css)


def _time_field(required: bool = True, label=None) -> forms.TimeField:
    return forms.TimeField(
        label=label or _("Start"),
        required=required,
        input_formats=["%H:%M"],
        widget=forms.TimeInput(format="%H:%M", attrs={"type": "time", "step": 900}),
    )


def _date_field(label=None) -> forms.DateField:
    return forms.DateField(label=label or _("Date"), widget=forms.DateInput(attrs={"type": "date"}))


class BookingItemForm(StyledForm):
    """One line of a booking: a service with a stylist. A blank start means "right after the
    previous line", so colour-then-cut needs one time only."""

    service = forms.ModelChoiceField(label=_("Service"), queryset=Service.objects.none(), required=False)
    staff = forms.ModelChoiceField(label=_("Stylist"), queryset=StaffMember.objects.none(), required=False)
    start = _time_field(required=False)

    def __init__(self, *args, services=None, staff=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = services if services is not None else Service.objects.none()
        self.fields["staff"].queryset = staff if staff is not None else StaffMember.objects.none()

    def clean(self):
        data = super().clean()
        if data.get("service") and not data.get("staff"):
            self.add_error("staff", _("Choose who does this service."))
        if data.get("staff") and not data.get("service"):
            self.add_error("service", _("Choose a service."))
        return data


BookingItemFormSet = forms.formset_factory(BookingItemForm, extra=3, max_num=3)


class CustomerPickMixin(StyledForm):
    """Either an existing client (picked through the lookup) or a new one (name + phone)."""

    customer = forms.ModelChoiceField(
        queryset=Customer.objects.active(), required=False, widget=forms.HiddenInput
    )
    new_name = forms.CharField(label=_("New client: name"), max_length=100, required=False)
    new_phone = PhoneNumberField(label=_("New client: phone"), required=False)

    def clean(self):
        data = super().clean()
        if not data.get("customer") and not data.get("new_name"):
            raise forms.ValidationError(_("Pick a client, or type a new client's name."))
        return data


class BookingForm(CustomerPickMixin):
    date = _date_field()
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    override_reason = forms.CharField(
        label=_("Reason to go ahead despite the warnings"), max_length=200, required=False
    )


def booking_items(location: Location, day: date, item_forms) -> list[tuple]:
    """(service, staff, aware start) for each filled line; a blank start follows the previous
    line's end. Returns [] when no line is filled."""
    result: list[tuple] = []
    previous_end: datetime | None = None
    for form in item_forms:
        data = getattr(form, "cleaned_data", None) or {}
        service, staff = data.get("service"), data.get("staff")
        if not service or not staff:
            continue
        if data.get("start"):
            start = local_dt(location, day, data["start"])
        elif previous_end is not None:
            start = previous_end
        else:
            form.add_error("start", _("Give a start time."))
            return []
        result.append((service, staff, start))
        previous_end = start + timedelta(minutes=service.duration_minutes)
    return result


class WalkInForm(CustomerPickMixin):
    service = forms.ModelChoiceField(label=_("Service"), queryset=Service.objects.none())
    staff = forms.ModelChoiceField(label=_("Stylist"), queryset=StaffMember.objects.none())
    override_reason = forms.CharField(
        label=_("Reason to go ahead despite the warnings"), max_length=200, required=False
    )

    def __init__(self, *args, services=None, staff=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = services
        self.fields["staff"].queryset = staff


class CancelForm(StyledForm):
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)


class OverrideForm(StyledForm):
    override_reason = forms.CharField(
        label=_("Reason to go ahead despite the warnings"), max_length=200, required=False
    )


class MoveForm(StyledForm):
    date = _date_field()
    start = _time_field()
    staff = forms.ModelChoiceField(label=_("Stylist"), queryset=StaffMember.objects.none(), required=False)

    def __init__(self, *args, staff=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["staff"].queryset = staff if staff is not None else StaffMember.objects.none()


class WaitlistForm(CustomerPickMixin):
    service = forms.ModelChoiceField(label=_("Service"), queryset=Service.objects.none())
    date = _date_field()
    staff = forms.ModelChoiceField(
        label=_("Stylist"), queryset=StaffMember.objects.none(), required=False, empty_label=_("Anyone")
    )
    earliest = _time_field(required=False, label=_("Earliest"))
    latest = _time_field(required=False, label=_("Latest"))
    notes = forms.CharField(label=_("Notes"), max_length=200, required=False)

    def __init__(self, *args, services=None, staff=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = services
        self.fields["staff"].queryset = staff


# ---- checkout ---------------------------------------------------------------------------------


class CheckoutLineForm(StyledForm):
    """A service line (with who did it) or a retail product line."""

    service = forms.ModelChoiceField(label=_("Service"), queryset=Service.objects.none(), required=False)
    product = forms.ModelChoiceField(label=_("Product"), queryset=Product.objects.none(), required=False)
    staff = forms.ModelChoiceField(label=_("Stylist"), queryset=StaffMember.objects.none(), required=False)
    quantity = forms.IntegerField(label=_("Qty"), min_value=1, max_value=99, initial=1, required=False)
    unit_price = forms.DecimalField(label=_("Price"), required=False, **MONEY)
    discount = forms.DecimalField(label=_("Discount"), required=False, initial=Decimal("0"), **MONEY)

    def __init__(self, *args, services=None, products=None, staff=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = services if services is not None else Service.objects.none()
        self.fields["product"].queryset = products if products is not None else Product.objects.none()
        self.fields["staff"].queryset = staff if staff is not None else StaffMember.objects.none()

    def clean(self):
        data = super().clean()
        if data.get("service") and data.get("product"):
            raise forms.ValidationError(_("A line is either a service or a product."))
        if data.get("service") and not data.get("staff"):
            self.add_error("staff", _("Who did this service?"))
        return data

    @property
    def is_filled(self) -> bool:
        data = getattr(self, "cleaned_data", None) or {}
        return bool(data.get("service") or data.get("product"))


class PaymentForm(StyledForm):
    method = forms.ChoiceField(label=_("Method"), choices=(), required=False)
    amount = forms.DecimalField(label=_("Amount"), required=False, **MONEY)
    reference = forms.CharField(label=_("Reference"), max_length=100, required=False)

    def __init__(self, *args, methods=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["method"].choices = [("", "—"), *methods]

    def clean(self):
        data = super().clean()
        if data.get("amount") and not data.get("method"):
            self.add_error("method", _("Choose how this was paid."))
        return data


CheckoutLineFormSet = forms.formset_factory(CheckoutLineForm, extra=0, can_delete=True)
PaymentFormSet = forms.formset_factory(PaymentForm, extra=0)


class CheckoutForm(StyledForm):
    discount = forms.DecimalField(label=_("Visit discount"), required=False, initial=Decimal("0"), **MONEY)
    override_reason = forms.CharField(
        label=_("Reason to go ahead despite the warnings"), max_length=200, required=False
    )


class VoidForm(StyledForm):
    reason = forms.CharField(label=_("Reason"), max_length=200)


# ---- stylist ----------------------------------------------------------------------------------


class ServiceRecordForm(StyledForm):
    products = forms.ModelMultipleChoiceField(
        label=_("Products used"),
        queryset=Product.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    result = forms.CharField(label=_("Result"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, products=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["products"].queryset = products if products is not None else Product.objects.none()


# ---- online booking ---------------------------------------------------------------------------


class OnlineDetailsForm(StyledForm):
    service = forms.IntegerField(widget=forms.HiddenInput)
    staff = forms.IntegerField(widget=forms.HiddenInput)
    start = forms.DateTimeField(widget=forms.HiddenInput)
    name = forms.CharField(label=_("Your name"), max_length=100)
    phone = PhoneNumberField(label=_("Mobile phone"))
    marketing_consent = forms.BooleanField(
        label=_("Send me offers and news by SMS (you can stop any time)"), required=False
    )
