"""Client files (客户档案). A Customer is chain-wide; health fields are encrypted at rest.

Search columns (name_pinyin, name_initials, phone_rev, name_pieces) are derived from name and
phone by customers.search.derive_search_fields, called from the services on every write, so the
search query never computes anything per row (shared SEARCH.md)."""

from datetime import timedelta

from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField

from accounts.models import Location, StaffMember
from salon_crm.crypto import EncryptedTextField
from salon_crm.validators import validate_date_of_birth, validate_multiline_text, validate_single_line_text

FORMULA_LOCK_AFTER = timedelta(hours=24)
# Multi-line notes (preferences, notes, health notes): long enough for any real note, short
# enough that a pasted file is a field error, not a megabyte on every card.
NOTES_MAX_LENGTH = 5000
ONE_LINE = [validate_single_line_text]  # names, codes, one-line notes
NOTES = [validate_multiline_text, MaxLengthValidator(NOTES_MAX_LENGTH)]


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=40, unique=True, validators=ONE_LINE)
    colour = models.CharField(_("colour"), max_length=7, default="#6c757d", validators=ONE_LINE)

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self) -> str:
        return self.name


class Gender(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    OTHER = "other", _("Other")
    UNKNOWN = "", _("Not given")


class SourceChannel(models.TextChoices):
    WALK_IN = "walk_in", _("Walk-in")
    REFERRAL = "referral", _("Referral")
    ONLINE = "online", _("Online booking")
    PHONE = "phone", _("Phone")
    SOCIAL = "social", _("Social media (WeChat, Xiaohongshu, Douyin)")
    PLATFORM = "platform", _("Platform (Meituan, Dianping)")
    IMPORT = "import", _("Imported")
    OTHER = "other", _("Other")


class SkinType(models.TextChoices):
    NORMAL = "normal", _("Normal")
    DRY = "dry", _("Dry")
    OILY = "oily", _("Oily")
    COMBINATION = "combination", _("Combination")
    SENSITIVE = "sensitive", _("Sensitive")
    UNKNOWN = "", _("Not recorded")


class HairType(models.TextChoices):
    STRAIGHT = "straight", _("Straight")
    WAVY = "wavy", _("Wavy")
    CURLY = "curly", _("Curly")
    COILY = "coily", _("Coily")
    FINE = "fine", _("Fine")
    THICK = "thick", _("Thick")
    DAMAGED = "damaged", _("Damaged / chemically treated")
    UNKNOWN = "", _("Not recorded")


class CustomerQuerySet(models.QuerySet):
    def active(self):
        return self.filter(erased_at__isnull=True)


class Customer(models.Model):
    name = models.CharField(_("name"), max_length=100, validators=ONE_LINE)
    # Derived search columns (see customers/search.py); never edited by hand.
    name_pinyin = models.CharField(max_length=300, blank=True, editable=False, default="")
    name_initials = models.CharField(max_length=100, blank=True, editable=False, default="")
    name_pieces = models.JSONField(default=list, blank=True, editable=False)
    # Western names, last word first ('Emily Clark' → 'clarkemily'): a surname prefix in index order.
    name_surname_key = models.CharField(max_length=300, blank=True, editable=False, default="")
    phone = PhoneNumberField(_("phone"), unique=True, null=True, blank=True)
    phone_rev = models.CharField(max_length=20, blank=True, editable=False, default="")
    email = models.EmailField(_("email"), blank=True)
    gender = models.CharField(_("gender"), max_length=10, choices=Gender.choices, blank=True)
    birthday = models.DateField(_("birthday"), null=True, blank=True, validators=[validate_date_of_birth])
    source = models.CharField(_("source channel"), max_length=16, choices=SourceChannel.choices, blank=True)
    referred_by = models.ForeignKey(
        "self",
        verbose_name=_("referred by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="referrals",
    )
    preferred_staff = models.ForeignKey(
        StaffMember,
        verbose_name=_("preferred stylist"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="preferred_by",
    )
    home_location = models.ForeignKey(
        Location,
        verbose_name=_("home location"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="customers")
    skin_type = models.CharField(_("skin type"), max_length=16, choices=SkinType.choices, blank=True)
    skin_notes = models.CharField(_("skin notes"), max_length=200, blank=True, validators=ONE_LINE)
    hair_type = models.CharField(_("hair type"), max_length=16, choices=HairType.choices, blank=True)
    hair_notes = models.CharField(_("hair notes"), max_length=200, blank=True, validators=ONE_LINE)
    allergies = EncryptedTextField(
        _("allergies"), blank=True, default="", max_length=NOTES_MAX_LENGTH, validators=NOTES
    )
    contraindications = EncryptedTextField(
        _("contraindications"), blank=True, default="", max_length=NOTES_MAX_LENGTH, validators=NOTES
    )
    medical_notes = EncryptedTextField(
        _("medical notes"), blank=True, default="", max_length=NOTES_MAX_LENGTH, validators=NOTES
    )
    preferences = models.TextField(
        _("preferences"), blank=True, max_length=NOTES_MAX_LENGTH, validators=NOTES
    )
    notes = models.TextField(_("notes"), blank=True, max_length=NOTES_MAX_LENGTH, validators=NOTES)
    external_id = models.CharField(
        _("external id"), max_length=64, unique=True, null=True, blank=True, validators=ONE_LINE
    )
    # The language messages to this client are written in ('' = the salon's default).
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, blank=True)
    # The client's openid in the salon's WeChat Official Account (set when they follow it).
    wechat_openid = models.CharField(
        _("WeChat openid"), max_length=64, unique=True, null=True, blank=True, validators=ONE_LINE
    )
    consent_sms = models.BooleanField(_("SMS marketing"), default=False)
    consent_email = models.BooleanField(_("email marketing"), default=False)
    consent_wechat = models.BooleanField(_("WeChat marketing"), default=False)
    do_not_contact = models.BooleanField(_("do not contact"), default=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    erased_at = models.DateTimeField(_("erased"), null=True, blank=True)

    objects = CustomerQuerySet.as_manager()

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("client")
        verbose_name_plural = _("clients")
        permissions = [
            ("view_health", _("Can read health fields and formulas")),
            ("change_health", _("Can write health fields and formulas")),
            ("view_full_phone", _("Can see unmasked phone numbers")),
            ("export_customer", _("Can export and import clients")),
            ("erase_customer", _("Can export or erase one client's personal data")),
            ("merge_customer", _("Can merge duplicate clients")),
            ("override_safety", _("Can override allergy and patch-test warnings")),
        ]

    def __str__(self) -> str:
        return self.name


class ConsentChannel(models.TextChoices):
    SMS = "sms", _("SMS")
    EMAIL = "email", _("Email")
    WECHAT = "wechat", _("WeChat")
    ALL = "all", _("All channels (do not contact)")


class ConsentRecord(models.Model):
    """Append-only history of marketing consent: who recorded what, when and how."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consent_records")
    channel = models.CharField(_("channel"), max_length=8, choices=ConsentChannel.choices)
    granted = models.BooleanField(_("granted"))
    method = models.CharField(
        _("how"),
        max_length=32,
        help_text=_("front desk, online booking, import, link..."),
        validators=ONE_LINE,
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    recorded_at = models.DateTimeField(_("when"), default=timezone.now)
    note = models.CharField(_("note"), max_length=200, blank=True, validators=ONE_LINE)

    class Meta:
        ordering = ["-recorded_at", "-pk"]
        indexes = [models.Index(fields=["customer", "-recorded_at"])]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.channel} {'granted' if self.granted else 'withdrawn'}"


class ColourFormula(models.Model):
    """A colour formula (配方). Editable for 24 hours; after that a correction is a new version
    that points at the old one (supersedes), and the old one is kept."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="formulas")
    stylist = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="formulas")
    brand = models.CharField(_("brand"), max_length=60, validators=ONE_LINE)
    line = models.CharField(_("line"), max_length=60, blank=True, validators=ONE_LINE)
    developer = models.CharField(
        _("developer strength"),
        max_length=30,
        blank=True,
        help_text=_("e.g. 6% / 20 vol"),
        validators=ONE_LINE,
    )
    mix_ratio = models.CharField(
        _("mix ratio"), max_length=20, blank=True, help_text=_("e.g. 1:1.5"), validators=ONE_LINE
    )
    zones = models.CharField(
        _("zones"),
        max_length=120,
        blank=True,
        help_text=_("e.g. roots, mid-lengths, ends"),
        validators=ONE_LINE,
    )
    processing_minutes = models.PositiveSmallIntegerField(_("processing minutes"), null=True, blank=True)
    result_notes = models.TextField(
        _("result notes"), blank=True, max_length=NOTES_MAX_LENGTH, validators=NOTES
    )
    version = models.PositiveSmallIntegerField(default=1)
    supersedes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["customer", "-created_at"]), models.Index(fields=["brand"])]

    def __str__(self) -> str:
        return f"{self.brand} {self.line} v{self.version}".strip()

    @property
    def locked_at(self):
        return self.created_at + FORMULA_LOCK_AFTER

    def is_locked(self, now=None) -> bool:
        return (now or timezone.now()) >= self.locked_at


class FormulaShade(models.Model):
    formula = models.ForeignKey(ColourFormula, on_delete=models.CASCADE, related_name="shades")
    shade = models.CharField(_("shade"), max_length=30, validators=ONE_LINE)
    grams = models.DecimalField(_("grams"), max_digits=6, decimal_places=1)

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["shade"])]

    def __str__(self) -> str:
        return f"{self.shade} {self.grams}g"


class PatchTest(models.Model):
    class Result(models.TextChoices):
        PENDING = "pending", _("Pending")
        PASSED = "passed", _("Passed")
        FAILED = "failed", _("Failed (reaction)")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="patch_tests")
    product = models.CharField(_("product"), max_length=100, validators=ONE_LINE)
    tested_on = models.DateField(_("date"))
    result = models.CharField(_("result"), max_length=8, choices=Result.choices, default=Result.PENDING)
    valid_until = models.DateField(_("valid until"))
    performed_by = models.ForeignKey(StaffMember, null=True, blank=True, on_delete=models.SET_NULL)
    # What the skin did is health information: encrypted like the client's health fields.
    notes = EncryptedTextField(
        _("notes"), max_length=200, blank=True, validators=[*ONE_LINE, MaxLengthValidator(200)]
    )

    class Meta:
        ordering = ["-tested_on", "-pk"]
        indexes = [models.Index(fields=["customer", "-tested_on"])]

    def __str__(self) -> str:
        return f"{self.product} {self.tested_on} {self.result}"


class SafetyOverride(models.Model):
    """A staff member went ahead despite safety warnings; the reason is required and kept.

    `warnings` holds codes and ids only ({"code", "service", "patch_test"}: see
    customers.safety.safety_warning_record), never the warning's text: "Allergy on file: PPD"
    is health information, encrypted on the client's file and nowhere else. The reason, written
    in answer to those warnings, is encrypted like the health fields."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="safety_overrides")
    context = models.CharField(max_length=32, help_text="booking, check-in, checkout...", validators=ONE_LINE)
    warnings = models.JSONField(default=list)
    reason = EncryptedTextField(validators=NOTES)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Override for {self.customer_id} ({self.context})"


class AccessLog(models.Model):
    """Every full client-file view and every export (PIPL/GDPR accountability)."""

    class Action(models.TextChoices):
        VIEW_FILE = "view_file", _("Viewed client file")
        API_VIEW = "api_view", _("Read client file (API)")
        EXPORT = "export", _("Exported clients")
        EXPORT_ONE = "export_one", _("Exported one client's data")
        ERASE = "erase", _("Erased personal data")
        IMPORT = "import", _("Imported clients")
        # The offline day view saved the card in this user's browser (customers/offline.py).
        OFFLINE_COPY = "offline_copy", _("Saved for offline use")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="access_logs"
    )
    action = models.CharField(max_length=16, choices=Action.choices)
    detail = models.CharField(max_length=200, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["customer", "-at"])]

    def __str__(self) -> str:
        return f"{self.user_id} {self.action} {self.customer_id} at {self.at:%Y-%m-%d %H:%M}"


class MergeRecord(models.Model):
    """What a merge did: which client was kept, which was absorbed, and the rows moved."""

    kept = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="merges")
    merged_name = models.CharField(max_length=100)
    merged_pk = models.BigIntegerField()
    moved = models.JSONField(default=dict)
    merged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    merged_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Merged {self.merged_pk} into {self.kept_id}"
