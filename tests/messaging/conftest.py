from datetime import UTC, datetime

import pytest
from django.utils import timezone

from messaging.channels import local
from tests.appointments import fixtures_core

salon = fixtures_core.salon


@pytest.fixture(autouse=True)
def _empty_outbox():
    local.outbox.clear()
    yield
    local.outbox.clear()


@pytest.fixture
def clock(monkeypatch):
    """clock.set(aware datetime): timezone.now() answers it from then on."""

    class Clock:
        now = datetime(2027, 1, 4, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai, two days before DAY

        def set(self, moment):
            self.now = moment.astimezone(UTC)

    c = Clock()
    monkeypatch.setattr(timezone, "now", lambda: c.now)
    return c
