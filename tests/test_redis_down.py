"""Redis down must not break booking. Each test starts its own redis-server on a free port,
points the cache and the Celery broker at it, books online, then stops (or freezes) that Redis
and books again: the pages answer within a couple of seconds, rate limits let the request
through with a warning, the task send is logged and dropped, /healthz says what is down.
The shared Redis on 6379 is never touched."""

import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from datetime import datetime, timedelta
from datetime import time as clock

import pytest
import redis
from django.urls import reverse
from django.utils import timezone

from appointments import events
from appointments.models import Appointment
from salon_crm.celery import app
from salon_crm.tasks import enqueue, heartbeat, send
from tests.appointments import fixtures_core

salon = fixtures_core.salon
pytestmark = pytest.mark.django_db

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
FAST = 2.0  # seconds: "answers within a couple of seconds"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OwnRedis:
    def __init__(self):
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
            + ["--save", "", "--appendonly", "no", "--daemonize", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.client = redis.Redis(port=self.port, socket_timeout=1)
        for _ in range(100):
            try:
                self.client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        """Kill it: connections are refused from now on."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait(timeout=10)

    def freeze(self) -> None:
        """SIGSTOP: the port still accepts connections, nothing ever answers (a hung server)."""
        self.process.send_signal(signal.SIGSTOP)


@pytest.fixture
def own_redis():
    if not shutil.which("redis-server"):
        if IN_CI:
            pytest.fail("CI must run the Redis-down tests, but redis-server is missing")
        pytest.skip("needs redis-server (apt-get install redis-server)")
    server = OwnRedis()
    yield server
    server.stop()


@pytest.fixture
def on_own_redis(own_redis, settings, monkeypatch):
    """The cache and the broker on the test's own Redis, with the project's timeouts."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": own_redis.url,
            "OPTIONS": {
                "socket_connect_timeout": settings.REDIS_TIMEOUT,
                "socket_timeout": settings.REDIS_TIMEOUT,
            },
        }
    }
    settings.RATELIMIT_ENABLE = True
    settings.CELERY_BROKER_URL = own_redis.url  # what /healthz reads
    # Celery reads the broker URL from this variable before its settings.
    monkeypatch.setenv("CELERY_BROKER_URL", own_redis.url)
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    app._after_fork()  # drop pooled connections to the old broker
    assert app.connection_for_write().port == own_redis.port
    yield own_redis
    app.conf.task_always_eager = eager
    app._after_fork()


@pytest.fixture
def day(salon):
    return (timezone.now().astimezone(salon.location.tz) + timedelta(days=3)).date()


def book(client, salon, day, hour, phone):
    data = {
        "service": salon.cut.pk,
        "staff": salon.stylist.pk,
        "start": datetime.combine(day, clock(hour), tzinfo=salon.location.tz).isoformat(),
        "name": "赵六",
        "phone": phone,
    }
    return client.post(reverse("appointments:online_submit", args=[salon.location.code]), data)


def timed(call):
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


@pytest.fixture
def booking_sends_a_task():
    """Like messaging will: a booking enqueues a task after commit."""
    with events.listening("test.redis_down", lambda event: enqueue(heartbeat), kinds=[events.BOOKED]):
        yield


def test_project_settings_give_redis_short_timeouts(settings):
    assert settings.REDIS_TIMEOUT <= 1
    assert app.conf.broker_connection_timeout == settings.REDIS_TIMEOUT
    assert app.conf.broker_transport_options["socket_timeout"] == settings.REDIS_TIMEOUT
    assert app.conf.task_publish_retry_policy["max_retries"] <= 1
    # no result subscription on send (its reconnects used to hold a request for 20 s)
    assert app.conf.task_ignore_result is True
    if settings.CACHES["default"]["BACKEND"].endswith("RedisCache"):
        options = settings.CACHES["default"]["OPTIONS"]
        assert options["socket_connect_timeout"] == options["socket_timeout"] == settings.REDIS_TIMEOUT


def test_online_booking_keeps_working_when_redis_stops(
    client, salon, day, on_own_redis, booking_sends_a_task, caplog, django_capture_on_commit_callbacks
):
    page_url = reverse("appointments:online_book", args=[salon.location.code])
    # given Redis up: the limiter counts in it, the task lands in its queue
    with django_capture_on_commit_callbacks(execute=True):
        booked = book(client, salon, day, 10, "13700000001")
    assert booked.status_code == 302
    assert on_own_redis.client.keys("*rl:*") != []
    # two tasks in its queue: the test's heartbeat, and messaging's pass for the confirmation
    assert on_own_redis.client.llen("celery") == 2
    health = client.get("/healthz").json()
    assert (health["status"], health["cache"], health["broker"]) == ("ok", "ok", "ok")

    # when it stops
    on_own_redis.stop()
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        page, page_seconds = timed(lambda: client.get(page_url))
        with django_capture_on_commit_callbacks(execute=True):
            booked, booking_seconds = timed(lambda: book(client, salon, day, 11, "13700000002"))
        health, health_seconds = timed(lambda: client.get("/healthz"))

    # then the page and the booking answer at once, the booking is saved
    assert (page.status_code, booked.status_code) == (200, 302)
    assert page_seconds < FAST and booking_seconds < FAST, (page_seconds, booking_seconds)
    assert Appointment.objects.count() == 2
    # with warnings that say what was skipped
    warnings = [(r.name, r.getMessage()) for r in caplog.records if r.levelno == logging.WARNING]
    assert any(name == "salon_crm.ratelimit" and "'online_book'" in msg for name, msg in warnings), warnings
    assert any(name == "salon_crm.ratelimit" and "'online_book_phone'" in msg for name, msg in warnings)
    assert any(
        name == "salon_crm.tasks" and "salon_crm.tasks.heartbeat not enqueued" in msg
        for name, msg in warnings
    )
    assert any(
        name == "salon_crm.tasks" and "messaging" in msg and "not enqueued" in msg for name, msg in warnings
    )
    # and /healthz says what is down, 200 "degraded" (the database is up)
    assert health.status_code == 200 and health_seconds < FAST
    body = health.json()
    assert body["status"] == "degraded" and body["database"] == "ok"
    assert body["cache"].startswith("error") and body["broker"].startswith("error")


def test_a_hung_redis_costs_a_request_at_most_the_timeouts(
    client, salon, day, on_own_redis, settings, caplog
):
    assert book(client, salon, day, 10, "13700000001").status_code == 302
    assert send(heartbeat) is True
    on_own_redis.freeze()  # connections open, no answers
    with caplog.at_level(logging.WARNING):
        booked, booking_seconds = timed(lambda: book(client, salon, day, 11, "13700000002"))
        sent, send_seconds = timed(lambda: send(heartbeat))
        health, health_seconds = timed(lambda: client.get("/healthz"))
    assert booked.status_code == 302 and Appointment.objects.count() == 2
    # two limiter calls (address, phone), each at most one REDIS_TIMEOUT
    assert booking_seconds < 2 * settings.REDIS_TIMEOUT + 1, booking_seconds
    # a publish, then one retry on a new connection (connect, then no answer)
    assert sent is False and send_seconds < 3 * settings.REDIS_TIMEOUT + 1, send_seconds
    assert health.status_code == 200 and health.json()["status"] == "degraded"
    assert health_seconds < 2 * settings.REDIS_TIMEOUT + 1, health_seconds


def test_enqueue_waits_for_the_commit_and_reports_a_refused_send(
    on_own_redis, caplog, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert enqueue(heartbeat) is True  # inside the test's transaction: deferred
    assert on_own_redis.client.llen("celery") == 0
    callbacks[0]()
    assert on_own_redis.client.llen("celery") == 1
    on_own_redis.stop()
    with caplog.at_level(logging.WARNING):
        assert send(heartbeat) is False
    assert "not enqueued" in caplog.text


def test_healthz_is_503_only_when_the_database_is_down(client, monkeypatch):
    from health_check.checks import Database  # what salon_crm.health's database check runs

    def down(self):
        raise OSError("connection refused")

    monkeypatch.setattr(Database, "run", down)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "error" and response.json()["database"] == "error: OSError"
