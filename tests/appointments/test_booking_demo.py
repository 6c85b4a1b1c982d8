from collections import defaultdict

import pytest
from django.utils import timezone

from accounts.demo import seed_all
from appointments.models import AppointmentItem, Payment, Visit


@pytest.mark.django_db
def test_demo_seed_is_idempotent_and_never_double_books():
    seed_all(password="demo-pass-for-tests-1", log=lambda _m: None)
    counts = (AppointmentItem.objects.count(), Visit.objects.count(), Payment.objects.count())
    assert counts[0] > 500 and counts[1] > 300 and counts[1] == counts[2]
    assert AppointmentItem.objects.filter(start__gte=timezone.now()).count() > 30
    seed_all(password="demo-pass-for-tests-1", log=lambda _m: None)
    assert (AppointmentItem.objects.count(), Visit.objects.count(), Payment.objects.count()) == counts
    # no two active items of one stylist or one room overlap (buffers included)
    by_key = defaultdict(list)
    for staff_id, resource_id, start, busy in AppointmentItem.objects.filter(is_active=True).values_list(
        "staff_id", "resource_id", "start", "busy_until"
    ):
        by_key[("staff", staff_id)].append((start, busy))
        if resource_id:
            by_key[("resource", resource_id)].append((start, busy))
    for spans in by_key.values():
        spans.sort()
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))
    # every visit's payments sum to its total
    for visit in Visit.objects.prefetch_related("payments"):
        assert sum(p.amount for p in visit.payments.all()) == visit.total
