from decimal import Decimal

from django.contrib.auth import get_user_model
from rest_framework import serializers

from accounts.models import Location, StaffMember
from appointments.models import Visit
from appointments.serializers import AwareDateTimeField
from customers.models import Customer
from feedback.models import Complaint, ComplaintAction, FollowUp, Survey, Tag


class SurveyOutput(serializers.ModelSerializer):
    state = serializers.SerializerMethodField()
    complaint = serializers.SerializerMethodField()
    comment = serializers.CharField()
    tags = serializers.ListField(child=serializers.ChoiceField(choices=Tag.choices))

    class Meta:
        model = Survey
        fields = [
            "id",
            "visit",
            "customer",
            "location",
            "staff",
            "send_at",
            "expires_at",
            "answered_at",
            "state",
            "csat",
            "nps",
            "stylist_rating",
            "comment",
            "tags",
            "complaint",
        ]

    def get_state(self, obj) -> str:
        from feedback.services import survey_state

        return survey_state(obj)

    def get_complaint(self, obj) -> int | None:
        complaint = getattr(obj, "complaint", None)
        return complaint.pk if complaint else None


class ResultRow(serializers.Serializer):
    sent = serializers.IntegerField()
    answered = serializers.IntegerField()
    response_rate = serializers.FloatField(allow_null=True)
    csat = serializers.FloatField(allow_null=True)
    csat_responses = serializers.IntegerField(source="csat_n")
    nps = serializers.FloatField(allow_null=True)
    nps_responses = serializers.IntegerField(source="nps_n")
    stylist_avg = serializers.FloatField(allow_null=True)


class StylistResultRow(ResultRow):
    staff = serializers.IntegerField(source="staff_id", allow_null=True)
    name = serializers.CharField(source="staff__display_name", allow_null=True)


class ServiceResultRow(ResultRow):
    service = serializers.IntegerField(source="service_id")
    name = serializers.CharField(source="service__name")


class ResultsOutput(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    summary = ResultRow()
    by_stylist = StylistResultRow(many=True)
    by_service = ServiceResultRow(many=True)


class ComplaintActionOutput(serializers.ModelSerializer):
    note = serializers.CharField()

    class Meta:
        model = ComplaintAction
        fields = ["kind", "at", "by", "status", "note"]


class ComplaintOutput(serializers.ModelSerializer):
    sla = serializers.SerializerMethodField()
    description = serializers.CharField()
    resolution = serializers.CharField()
    staff_involved = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    actions = ComplaintActionOutput(many=True, read_only=True)

    class Meta:
        model = Complaint
        fields = [
            "id",
            "location",
            "customer",
            "visit",
            "survey",
            "source",
            "category",
            "severity",
            "description",
            "staff_involved",
            "owner",
            "status",
            "opened_at",
            "due_at",
            "sla",
            "escalated_at",
            "resolved_at",
            "closed_at",
            "resolution",
            "compensation",
            "compensation_ref",
            "compensation_value",
            "actions",
        ]

    def get_sla(self, obj) -> str:
        from feedback.services import sla_state

        return sla_state(obj)


class ComplaintInput(serializers.Serializer):
    customer = serializers.PrimaryKeyRelatedField(queryset=Customer.objects.all())
    location = serializers.PrimaryKeyRelatedField(queryset=Location.objects.filter(is_active=True))
    category = serializers.ChoiceField(choices=Complaint.Category.choices)
    severity = serializers.ChoiceField(choices=Complaint.Severity.choices, default=Complaint.Severity.MEDIUM)
    source = serializers.ChoiceField(
        choices=[(k, v) for k, v in Complaint.Source.choices if k != "survey"], default=Complaint.Source.API
    )
    description = serializers.CharField(max_length=4000)
    visit = serializers.PrimaryKeyRelatedField(queryset=Visit.objects.all(), required=False, allow_null=True)
    staff_involved = serializers.PrimaryKeyRelatedField(
        queryset=StaffMember.objects.all(), many=True, required=False
    )
    # with its UTC offset, inside the calendar's years (a deadline in 9999 is a typo)
    due_at = AwareDateTimeField(required=False, allow_null=True)


class ComplaintNoteInput(serializers.Serializer):
    note = serializers.CharField(max_length=4000)


class ComplaintStatusInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=Complaint.Status.choices)
    resolution = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
    note = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")


class ComplaintOwnerInput(serializers.Serializer):
    owner = serializers.PrimaryKeyRelatedField(queryset=get_user_model().objects.filter(is_active=True))
    due_at = AwareDateTimeField(required=False, allow_null=True)


class CompensationInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Complaint.Compensation.choices)
    value = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        max_value=Decimal("1000000"),
        help_text="Money for a coupon; a whole number of points.",
    )
    valid_days = serializers.IntegerField(min_value=1, max_value=3650, default=90)

    def validate(self, data):
        if (
            data["kind"] == Complaint.Compensation.POINTS
            and data["value"] != data["value"].to_integral_value()
        ):
            raise serializers.ValidationError({"value": ["Give a whole number of points."]})
        return data


class FollowUpOutput(serializers.ModelSerializer):
    note = serializers.CharField()

    class Meta:
        model = FollowUp
        fields = [
            "id",
            "customer",
            "location",
            "visit",
            "service",
            "complaint",
            "assignee",
            "reason",
            "purpose",
            "due_on",
            "status",
            "outcome",
            "attempts",
            "note",
            "opened_complaint",
            "done_at",
        ]


class FollowUpInput(serializers.Serializer):
    customer = serializers.PrimaryKeyRelatedField(queryset=Customer.objects.all())
    location = serializers.PrimaryKeyRelatedField(queryset=Location.objects.filter(is_active=True))
    due_on = serializers.DateField()
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=StaffMember.objects.filter(is_active=True), required=False, allow_null=True
    )
    purpose = serializers.CharField(max_length=200)
    visit = serializers.PrimaryKeyRelatedField(queryset=Visit.objects.all(), required=False, allow_null=True)


class FollowUpOutcomeInput(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=FollowUp.Outcome.choices)
    note = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
    category = serializers.ChoiceField(choices=Complaint.Category.choices, default=Complaint.Category.OTHER)
