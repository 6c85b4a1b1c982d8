"""Input shapes for the front-desk pages and online booking. No business rules here: the forms
turn local wall-clock input into aware datetimes of the location and the services decide."""

from datetime import date
from decimal import Decimal, InvalidOperation

from django import forms
from django.core.validators import MinValueValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from phonenumber_field.formfields import PhoneNumberField

from accounts.forms import HourMinuteField
from accounts.models import Location, StaffMember
from appointments.catalogue_forms import IsoDateField
from appointments.models import Product, Service
from appointments.services import BookingItem, FormulaIn
from appointments.services.rules import local_dt
from customers.models import Customer
from customers.services import NewCustomer, ShadeInput
from salon_crm.forms import TextHygieneMixin
from salon_crm.money import currency_symbol

MONEY = {"max_digits": 12, "decimal_places": 2, "validators": [MinValueValidator(Decimal("0"))]}


class StyledForm(TextHygieneMixin, forms.Form):
    """Bootstrap classes on every widget (small controls: the dialogs are dense). Text inputs
    refuse control characters, and tabs and line breaks outside textareas (salon_crm.forms)."""

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
    """A 24-hour time typed as text, like the weekly hours editor's (a browser's time input
    shows AM/PM in some locales; the salon's clock is 24-hour in both languages)."""
    return HourMinuteField(label=label or _("Start"), required=required)


def _date_field(label=None) -> forms.DateField:
    """A date typed as 2026-12-04, like the time off editor's (a browser's date input shows the
    browser's own format, 12/04/2026 in en-US)."""
    return IsoDateField(label=label or _("Date"))


def short_money(amount: Decimal) -> str:
    """¥680 / ¥4,200 / ¥680.50: the deployment's currency, no cents when there are none."""
    text = f"{amount:,.2f}"
    return currency_symbol() + (text[:-3] if text.endswith(".00") else text)


class ServiceChoiceField(forms.ModelChoiceField):
    """A service as the desk chooses it: "Colour · 120 min · ¥680"."""

    def label_from_instance(self, obj: Service) -> str:
        return _("%(name)s · %(minutes)s min · %(price)s") % {
            "name": obj.name,
            "minutes": obj.duration_minutes,
            "price": short_money(obj.price),
        }


class BookingItemForm(StyledForm):
    """One line of a booking: a service with a stylist. A blank start means "right after the
    previous line" (the booking service's chaining rule), so colour-then-cut needs one time."""

    service = ServiceChoiceField(label=_("Service"), queryset=Service.objects.none(), required=False)
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
    """Either an existing client (picked through the lookup) or a new one (name + phone), which
    the booking service creates in its own transaction (customers.services.NewCustomer)."""

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

    def client(self) -> Customer | NewCustomer:
        data = self.cleaned_data
        if data.get("customer"):
            return data["customer"]
        return NewCustomer(name=data["new_name"], phone=str(data.get("new_phone") or ""))


class BookingForm(CustomerPickMixin):
    date = _date_field()
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    override_reason = forms.CharField(
        label=_("Reason to go ahead despite the warnings"), max_length=200, required=False
    )
    # Only for those who hold appointments.record_past_visit (managers, owners): a start that
    # has passed is refused otherwise (appointments.services.checks.check_not_past).
    record_past = forms.BooleanField(label=_("Record a past visit"), required=False)

    def __init__(self, *args, may_record_past: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not may_record_past:
            del self.fields["record_past"]
        else:
            self.fields["record_past"].widget.attrs["class"] = "form-check-input"


def booking_items(location: Location, day: date, item_forms) -> list[BookingItem]:
    """A BookingItem for each filled line, its local start on `day` made aware; a blank start
    stays None and the booking service chains it after the previous line (rules.chain)."""
    return [
        BookingItem(
            service=data["service"],
            staff=data["staff"],
            start=local_dt(location, day, data["start"]) if data.get("start") else None,
        )
        for data in (getattr(form, "cleaned_data", None) or {} for form in item_forms)
        if data.get("service") and data.get("staff")
    ]


class WalkInForm(CustomerPickMixin):
    """A client without a booking, served now: client (existing or new), service, stylist.
    `busy` ({staff id: "11:00"}) marks the stylists who are with someone until then."""

    service = ServiceChoiceField(label=_("Service"), queryset=Service.objects.none())
    staff = forms.ModelChoiceField(label=_("Stylist"), queryset=StaffMember.objects.none())
    override_reason = forms.CharField(
        label=_("Reason to go ahead despite the warnings"), max_length=200, required=False
    )

    def __init__(self, *args, services=None, staff=None, busy: dict[int, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = services
        self.fields["staff"].queryset = staff
        busy = busy or {}

        def staff_label(member: StaffMember) -> str:
            if member.pk in busy:
                return _("%(name)s (busy until %(time)s)") % {
                    "name": member.display_name,
                    "time": busy[member.pk],
                }
            return str(member.display_name)

        self.fields["staff"].label_from_instance = staff_label


class CancelForm(StyledForm):
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)


class OverrideForm(StyledForm):
    override_reason = forms.CharField(
        label=_("Reason to go ahead despite the warnings"), max_length=200, required=False
    )


class StartForm(OverrideForm):
    """Start at the chair (the stylist's day): the reason is needed when the client has safety
    warnings for the service, and the service decides that (appointment_start)."""


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


class WaitlistBookForm(StyledForm):
    """One click on an offered slot in the waitlist panel."""

    staff = forms.ModelChoiceField(queryset=StaffMember.objects.none())
    start = forms.DateTimeField()
    override_reason = forms.CharField(max_length=200, required=False)

    def __init__(self, *args, location: Location, staff=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.location = location
        self.fields["staff"].queryset = staff if staff is not None else StaffMember.objects.none()

    def clean_start(self):
        start = self.cleaned_data["start"]
        # The panel posts the slot's ISO time with its offset; a bare wall-clock time is local.
        if timezone.is_naive(start):
            start = local_dt(self.location, start.date(), start.time())
        return start


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


class PaymentForm(StyledForm):
    method = forms.ChoiceField(label=_("Method"), choices=(), required=False)
    amount = forms.DecimalField(label=_("Amount"), required=False, **MONEY)
    reference = forms.CharField(label=_("Reference"), max_length=100, required=False)

    def __init__(self, *args, methods=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["method"].choices = [("", "—"), *methods]
        if not self.is_bound and self.initial.get("amount"):
            # Filled by the page, not typed by the desk: static/js/checkout.js keeps it at the
            # amount still due while the lines change, until the desk types in it.
            self.fields["amount"].widget.attrs["data-autofilled"] = "1"

    def clean(self):
        data = super().clean()
        if data.get("amount") and not data.get("method"):
            self.add_error("method", _("Choose how this was paid."))
        return data


class BasePaymentFormSet(forms.BaseFormSet):
    def amounts(self) -> list[Decimal | None]:
        """Each row's amount as typed (None when empty or not a valid amount), in row order: the
        running balance counts them even while a row still lacks its method."""
        if not self.is_bound:
            return [f.initial.get("amount") for f in self.forms]
        self.is_valid()  # cleans every row
        return [getattr(f, "cleaned_data", {}).get("amount") for f in self.forms]


CheckoutLineFormSet = forms.formset_factory(CheckoutLineForm, extra=0, can_delete=True)
PaymentFormSet = forms.formset_factory(PaymentForm, formset=BasePaymentFormSet, extra=0)


class CheckoutForm(StyledForm):
    discount = forms.DecimalField(label=_("Visit discount"), required=False, initial=Decimal("0"), **MONEY)
    override_reason = forms.CharField(
        label=_("Reason to go ahead despite the warnings"), max_length=200, required=False
    )
    # Shown when the quote is a price override (far below the catalogue, or nothing to pay).
    price_reason = forms.CharField(label=_("Reason for the price"), max_length=200, required=False)

    def __init__(self, *args, amount_kinds=(), choice_kinds=(), customer=None, **kwargs):
        """`amount_kinds`: line kinds sold for a typed amount (a stored-value top-up): one
        optional amount field each, `sell_<key>`. `choice_kinds`: kinds sold from a list (a
        package plan, the client's open fees): one optional select each, `pick_<key>`, when the
        kind has something to offer this `customer`."""
        self.amount_kinds = list(amount_kinds)
        listed = [(k, k.choices(customer)) for k in choice_kinds]
        self.choice_kinds = [k for k, options in listed if options]
        super().__init__(*args, **kwargs)
        for kind, options in listed:
            if not options:
                continue
            self.fields[f"pick_{kind.key}"] = forms.ChoiceField(
                label=kind.label,
                required=False,
                choices=[("", "—"), *((str(r), str(lbl)) for r, lbl in options)],
            )
            self.fields[f"pick_{kind.key}"].widget.attrs.setdefault("class", "form-select form-select-sm")
        for kind in self.amount_kinds:
            self.fields[f"sell_{kind.key}"] = forms.DecimalField(
                label=kind.label, required=False, **MONEY, widget=forms.NumberInput(attrs={"step": "0.01"})
            )
            self.fields[f"sell_{kind.key}"].widget.attrs.setdefault("class", "form-control form-control-sm")

    def amount_fields(self):
        return [self[f"sell_{kind.key}"] for kind in self.amount_kinds] + [
            self[f"pick_{kind.key}"] for kind in self.choice_kinds
        ]

    def choice_lines(self) -> list[tuple[str, str]]:
        """(kind, ref) of every list field with a choice."""
        data = getattr(self, "cleaned_data", {}) or {}
        return [(k.key, data[f"pick_{k.key}"]) for k in self.choice_kinds if data.get(f"pick_{k.key}")]

    def amount_lines(self) -> list[tuple[str, Decimal]]:
        """(kind, amount) of every amount field filled with more than zero."""
        data = getattr(self, "cleaned_data", {}) or {}
        return [(k.key, data[f"sell_{k.key}"]) for k in self.amount_kinds if data.get(f"sell_{k.key}")]


class VoidForm(StyledForm):
    reason = forms.CharField(label=_("Reason"), max_length=200)


# ---- stylist ----------------------------------------------------------------------------------


class ServiceRecordForm(StyledForm):
    """The record; with `with_formula` (the user may write this client's formulas) an optional
    colour formula: brand, "shade grams" pairs, developer, processing minutes."""

    products = forms.ModelMultipleChoiceField(
        label=_("Products used"),
        queryset=Product.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    result = forms.CharField(label=_("Result"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, products=None, with_formula: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["products"].queryset = products if products is not None else Product.objects.none()
        if with_formula:
            self.fields["formula_brand"] = forms.CharField(label=_("Brand"), max_length=60, required=False)
            self.fields["formula_shades"] = forms.CharField(
                label=_("Shades and grams"),
                max_length=300,
                required=False,
                widget=forms.TextInput(attrs={"placeholder": "7.1 30, 8.0 15"}),
            )
            self.fields["formula_developer"] = forms.CharField(
                label=_("Developer"),
                max_length=30,
                required=False,
                widget=forms.TextInput(attrs={"placeholder": "6% / 20 vol"}),
            )
            self.fields["formula_minutes"] = forms.IntegerField(
                label=_("Minutes"), min_value=0, max_value=600, required=False
            )
            for name in ("formula_brand", "formula_shades", "formula_developer", "formula_minutes"):
                self.fields[name].widget.attrs.setdefault("class", "form-control")
            # A formula for a client without a valid patch test needs one (service_record_write).
            self.fields["override_reason"] = forms.CharField(
                label=_("Reason to record colour without a valid patch test"), max_length=200, required=False
            )
            self.fields["override_reason"].widget.attrs.setdefault("class", "form-control")

    def clean_formula_shades(self) -> list[ShadeInput]:
        """'7.1 30, 8.0 15g' → shades; one "shade grams" pair per comma or line."""
        shades = []
        for chunk in self.cleaned_data.get("formula_shades", "").replace("\n", ",").split(","):
            parts = chunk.split()
            if not parts:
                continue
            if len(parts) != 2:
                raise forms.ValidationError(_("Write each shade as: shade grams, e.g. 7.1 30"))
            try:
                shades.append(ShadeInput(parts[0], Decimal(parts[1].rstrip("gG"))))
            except InvalidOperation:
                raise forms.ValidationError(_("Grams must be a number.")) from None
        return shades

    def clean(self):
        data = super().clean()
        if (
            data.get("formula_brand")
            and not data.get("formula_shades")
            and "formula_shades" not in self.errors
        ):
            self.add_error("formula_shades", _("Add at least one shade."))
        return data

    def formula(self) -> FormulaIn | None:
        data = self.cleaned_data
        if not data.get("formula_brand"):
            return None
        return FormulaIn(
            brand=data["formula_brand"],
            shades=data["formula_shades"],
            developer=data.get("formula_developer", ""),
            processing_minutes=data.get("formula_minutes"),
        )


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
    code = forms.RegexField(
        label=_("Code from the SMS (if you asked for one)"),
        regex=r"^\s*\d{6}\s*$",
        required=False,
        error_messages={"invalid": _("The code has 6 digits.")},
    )
