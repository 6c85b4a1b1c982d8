"""Feedback: the post-visit survey (满意度), complaint cases with an owner and a deadline (投诉)
and follow-up calls after a service (回访). docs/feedback.md says how they connect."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import Location, StaffMember
from appointments.models import Service, Visit
from customers.models import Customer
from salon_crm.crypto import EncryptedTextField
from salon_crm.validators import validate_single_line_text


class Tag(models.TextChoices):
    """The quick tags a client may tick on the survey, and a complaint's category (the seeds'
    list: 服务态度, 技术水平, 卫生, 价格, 环境, 等待时间)."""

    ATTITUDE = "attitude", _("Service attitude")
    SKILL = "skill", _("Skill")
    HYGIENE = "hygiene", _("Hygiene")
    PRICE = "price", _("Price")
    ENVIRONMENT = "environment", _("Environment")
    WAITING = "waiting", _("Waiting time")


class Survey(models.Model):
    """One survey per completed visit: planned at checkout, sent through messaging after a
    delay, answered once on the public page /s/<token>/ until it expires."""

    visit = models.OneToOneField(Visit, on_delete=models.CASCADE, related_name="survey")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="surveys")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    staff = models.ForeignKey(
        StaffMember,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="surveys",
        verbose_name=_("stylist"),
    )
    nonce = models.CharField(max_length=32)  # in the signed token: a new survey, a new link
    message = models.ForeignKey(
        "messaging.OutboundMessage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("planned at"))
    send_at = models.DateTimeField(_("sent after"))
    expires_at = models.DateTimeField(_("link expires at"))
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True, db_index=True)
    csat = models.PositiveSmallIntegerField(
        _("satisfaction (1–5)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
    )
    nps = models.PositiveSmallIntegerField(
        _("would recommend (0–10)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(10)],
    )
    stylist_rating = models.PositiveSmallIntegerField(
        _("stylist rating (1–5)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
    )
    comment = EncryptedTextField(_("comment"), max_length=2000, blank=True)  # may tell of a reaction
    tags = models.JSONField(_("tags"), default=list, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        permissions = [("view_survey_results", _("Can see survey results"))]
        indexes = [
            models.Index(fields=["location", "answered_at"]),
            models.Index(fields=["staff", "answered_at"]),
            models.Index(fields=["customer", "created_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(csat__isnull=True) | Q(csat__gte=1, csat__lte=5), name="survey_csat_1_5"
            ),
            models.CheckConstraint(condition=Q(nps__isnull=True) | Q(nps__lte=10), name="survey_nps_0_10"),
            models.CheckConstraint(
                condition=Q(stylist_rating__isnull=True) | Q(stylist_rating__gte=1, stylist_rating__lte=5),
                name="survey_stylist_rating_1_5",
            ),
        ]

    def __str__(self) -> str:
        return f"survey #{self.pk} (visit {self.visit_id})"


class Complaint(models.Model):
    """A complaint case (投诉): an owner, a deadline (48 h by default), a status and a timeline of
    what was done, until it is resolved and closed."""

    class Source(models.TextChoices):
        PHONE = "phone", _("Phone call")
        IN_PERSON = "in_person", _("In person")
        SURVEY = "survey", _("Low survey score")
        FOLLOW_UP = "follow_up", _("Follow-up call")
        API = "api", _("API")
        OTHER = "other", _("Other")

    class Category(models.TextChoices):
        ATTITUDE = "attitude", _("Service attitude")
        SKILL = "skill", _("Skill / result")
        HYGIENE = "hygiene", _("Hygiene")
        PRICE = "price", _("Price / billing")
        ENVIRONMENT = "environment", _("Environment")
        WAITING = "waiting", _("Waiting time")
        BOOKING = "booking", _("Booking")
        PRODUCT = "product", _("Product")
        SAFETY = "safety", _("Allergy / injury")
        OTHER = "other", _("Other")

    class Severity(models.TextChoices):
        LOW = "low", _("Low")
        MEDIUM = "medium", _("Medium")
        HIGH = "high", _("High")
        CRITICAL = "critical", _("Critical")

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("complaint status", "Open")
        IN_PROGRESS = "in_progress", _("In progress")
        RESOLVED = "resolved", _("Resolved")
        CLOSED = "closed", pgettext_lazy("complaint status", "Closed")

    class Compensation(models.TextChoices):
        COUPON = "coupon", _("Coupon")
        POINTS = "points", _("Points")

    location = models.ForeignKey(
        Location, on_delete=models.PROTECT, related_name="+", verbose_name=_("location")
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="complaints", verbose_name=_("client")
    )
    visit = models.ForeignKey(
        Visit,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="complaints",
        verbose_name=_("visit"),
    )
    survey = models.OneToOneField(
        Survey, null=True, blank=True, on_delete=models.SET_NULL, related_name="complaint"
    )
    source = models.CharField(_("source"), max_length=12, choices=Source.choices)
    category = models.CharField(_("category"), max_length=12, choices=Category.choices)
    severity = models.CharField(
        _("severity"), max_length=8, choices=Severity.choices, default=Severity.MEDIUM
    )
    description = EncryptedTextField(_("what happened"), max_length=4000)  # may carry health details
    staff_involved = models.ManyToManyField(
        StaffMember, blank=True, related_name="complaints_involved", verbose_name=_("staff involved")
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="complaints_owned",
        verbose_name=pgettext_lazy("complaint", "owner"),
    )
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.OPEN)
    opened_at = models.DateTimeField(_("opened at"))
    due_at = models.DateTimeField(_("due at"), db_index=True)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    resolution = EncryptedTextField(_("resolution"), max_length=4000, blank=True)
    compensation = models.CharField(_("compensation"), max_length=8, choices=Compensation.choices, blank=True)
    compensation_ref = models.CharField(_("compensation reference"), max_length=40, blank=True)
    compensation_value = models.DecimalField(
        _("compensation value"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["due_at"]
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        permissions = [
            ("manage_complaint", _("Can work on complaint cases (owner, status, resolution)")),
            ("compensate_complaint", _("Can give compensation for a complaint")),
        ]
        indexes = [
            models.Index(fields=["location", "status", "due_at"]),
            models.Index(fields=["customer", "opened_at"]),
        ]

    def __str__(self) -> str:
        return f"C-{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.OPEN, self.Status.IN_PROGRESS)


class ComplaintAction(models.Model):
    """The case's timeline: every step, who took it and when."""

    class Kind(models.TextChoices):
        OPENED = "opened", _("Opened")
        NOTE = "note", _("Note")
        STATUS = "status", _("Status changed")
        OWNER = "owner", _("Owner changed")
        ESCALATED = "escalated", _("Escalated (overdue)")
        COMPENSATED = "compensated", _("Compensation given")

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="actions")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    at = models.DateTimeField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = EncryptedTextField(max_length=4000, blank=True)
    status = models.CharField(max_length=12, blank=True)  # the status after a status change

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("complaint action")
        verbose_name_plural = _("complaint actions")

    def __str__(self) -> str:
        return f"{self.complaint_id}: {self.kind}"


class FollowUp(models.Model):
    """A follow-up call (回访): planned from a service with follow-up days, or by hand, for a
    staff member on a day; the outcome says how it went ("problem" opens a complaint)."""

    class Reason(models.TextChoices):
        SERVICE = "service", _("After a service")
        MANUAL = "manual", _("Planned by hand")
        COMPLAINT = "complaint", _("After a complaint")

    class Status(models.TextChoices):
        OPEN = "open", _("To call")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    class Outcome(models.TextChoices):
        REACHED = "reached", _("Reached")
        HAPPY = "happy", _("Reached: happy")
        PROBLEM = "problem", _("Reached: a problem")
        NO_ANSWER = "no_answer", _("No answer")

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="follow_ups", verbose_name=_("client")
    )
    location = models.ForeignKey(
        Location, on_delete=models.PROTECT, related_name="+", verbose_name=_("location")
    )
    visit = models.ForeignKey(
        Visit, null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_ups"
    )
    service = models.ForeignKey(
        Service, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("service")
    )
    complaint = models.ForeignKey(
        Complaint, null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_ups"
    )
    assignee = models.ForeignKey(
        StaffMember,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="follow_ups",
        verbose_name=_("who calls"),
    )
    reason = models.CharField(_("reason"), max_length=10, choices=Reason.choices)
    purpose = models.CharField(
        _("what to ask"), max_length=200, blank=True, validators=[validate_single_line_text]
    )
    due_on = models.DateField(_("call on"), db_index=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices, blank=True)
    attempts = models.PositiveSmallIntegerField(_("calls tried"), default=0)
    note = EncryptedTextField(_("notes"), max_length=4000, blank=True)
    opened_complaint = models.OneToOneField(
        Complaint, null=True, blank=True, on_delete=models.SET_NULL, related_name="from_follow_up"
    )
    key = models.CharField(max_length=100, unique=True, null=True, blank=True)  # planned once per visit line
    reminded_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["due_on", "pk"]
        verbose_name = _("follow-up call")
        verbose_name_plural = _("follow-up calls")
        indexes = [
            models.Index(fields=["location", "status", "due_on"]),
            models.Index(fields=["assignee", "status", "due_on"]),
            models.Index(fields=["customer", "due_on"]),
        ]

    def __str__(self) -> str:
        return f"follow-up #{self.pk}"
