"""The demo salon's feedback: surveys of the last two weeks' visits, some answered (a few low
scores that opened their cases), a resolved case with its coupon, follow-up calls made and due;
written through the real services, and a second seeding adds nothing."""

import pytest

from accounts.demo import seed_all
from feedback import services
from feedback.models import Complaint, ComplaintAction, FollowUp, Survey
from loyalty.models import Coupon

pytestmark = pytest.mark.django_db


def _counts() -> dict:
    return {m.__name__: m.objects.count() for m in (Survey, Complaint, ComplaintAction, FollowUp, Coupon)}


def test_demo_feedback_is_made_through_the_services_and_idempotent():
    seed_all(password="pw-demo-123", log=lambda m: None)
    answered = Survey.objects.filter(answered_at__isnull=False)
    assert Survey.objects.count() > answered.count() > 10
    assert all(s.message_id for s in Survey.objects.all())  # each planned through the outbox
    low = [s for s in answered if services.is_low(s)]
    assert low and all(Complaint.objects.filter(survey=s).count() == 1 for s in low)
    assert Complaint.objects.filter(source="phone").count() == 1
    resolved = Complaint.objects.get(status="resolved")
    assert resolved.compensation == "coupon"
    assert Coupon.objects.get(code=resolved.compensation_ref).customer == resolved.customer
    assert FollowUp.objects.filter(status="done").exists() and FollowUp.objects.filter(status="open").exists()
    before = _counts()
    seed_all(password="pw-demo-123", log=lambda m: None)
    assert _counts() == before
