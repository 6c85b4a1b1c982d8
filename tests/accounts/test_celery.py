import pytest
from celery.contrib.testing.worker import start_worker

from salon_crm.celery import app
from salon_crm.tasks import heartbeat


@pytest.mark.broker
def test_a_real_worker_runs_tasks_through_the_broker():
    # A worker thread consuming from the real broker (Redis in CI); the result comes back
    # through the result backend, so the round trip crosses the broker both ways.
    with start_worker(app, perform_ping_check=False, pool="solo", concurrency=1):
        result = heartbeat.delay()
        assert result.get(timeout=30).startswith("20")


def test_tasks_run_eagerly_without_a_broker(settings):
    if settings.CELERY_BROKER_URL:
        pytest.skip("a broker is configured; the eager path is the quick start's")
    assert heartbeat.delay().get().startswith("20")
