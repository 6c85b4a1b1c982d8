"""Issue 16, item 4: observability. Structured logs with a request id that follows the request
into its Celery tasks (django-structlog), Prometheus metrics on /metrics (django-prometheus and
the project's own), /healthz split into liveness and readiness (django-health-check's checks)."""

import contextlib
import importlib.util
import io
import json
import logging
import re
import socket
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import structlog
from celery import signals as celery_signals
from celery.contrib.testing.worker import start_worker
from django.db import OperationalError
from django.db.backends.base.base import BaseDatabaseWrapper
from django.urls import reverse
from django.utils import timezone
from django_structlog.celery.receivers import CeleryReceiver
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from messaging.models import OutboundMessage
from salon_crm import health, logs, metrics
from salon_crm.celery import app
from salon_crm.tasks import heartbeat
from tests.accounts.factories import PASSWORD
from tests.salon_crm.test_settings_env import settings_with

ROOT = Path(__file__).resolve().parents[2]
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
NOW = datetime(2027, 1, 6, 2, 0, tzinfo=UTC)  # a fixed moment: the outbox's ages are exact
S = OutboundMessage.Status


@pytest.fixture
def log_lines():
    """What the JSON handler of settings.LOGGING writes during the test, one dict per line."""
    entry = logs.formatter("json")
    factory = entry.pop("()")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(factory(**entry))
    root = logging.getLogger()
    root.addHandler(handler)
    # What settings.LOGGING sets; a test before may have changed it (Celery's start_worker sets
    # the root logger to its own level and leaves it there).
    level = root.level
    root.setLevel(logging.INFO)

    def lines() -> list[dict]:
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    lines.raw = stream.getvalue  # type: ignore[attr-defined]
    yield lines
    root.removeHandler(handler)
    root.setLevel(level)
    structlog.contextvars.clear_contextvars()


def _metrics(response) -> dict[tuple[str, tuple], float]:
    assert response.status_code == 200, response.status_code
    values = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


# ---- the request id ----------------------------------------------------------------------------


def test_a_request_gets_an_id_in_its_response(client):
    response = client.get(reverse("healthz_live"))
    assert response.status_code == 200
    assert UUID.fullmatch(response["X-Request-ID"]), response["X-Request-ID"]
    assert client.get(reverse("healthz_live"))["X-Request-ID"] != response["X-Request-ID"]


@pytest.mark.parametrize(
    ("incoming", "kept"),
    [
        ("lb-7f3a9c2e11d04b7e", True),  # a load balancer's id
        ("0f8fad5b-d9cb-469f-a165-70867728950e", True),
        ("abc", False),  # too short to be an id
        ("x" * 65, False),
        ("id with spaces and\nline", False),  # a client writing text into our logs
        ('{"event": "forged"}', False),
    ],
)
def test_a_well_formed_incoming_request_id_is_kept(client, incoming, kept):
    response = client.get(reverse("healthz_live"), HTTP_X_REQUEST_ID=incoming)
    if kept:
        assert response["X-Request-ID"] == incoming
    else:
        assert UUID.fullmatch(response["X-Request-ID"])


@pytest.mark.django_db
def test_request_lines_carry_the_id_and_the_user_id_never_the_query_or_the_person(
    client_as, reception, log_lines
):
    reception.user.email = "lily.reception@example.com"
    reception.user.save(update_fields=["email"])
    client = client_as(reception)
    response = client.get(
        reverse("customers:list") + "?q=13800138000&name=张三", HTTP_X_REQUEST_ID="req-0123456789ab"
    )
    assert response.status_code == 200
    assert response["X-Request-ID"] == "req-0123456789ab"
    lines = [line for line in log_lines() if line["event"] in ("request_started", "request_finished")]
    assert [line["event"] for line in lines] == ["request_started", "request_finished"]
    for line in lines:
        assert line["request_id"] == "req-0123456789ab"
        assert line["user_id"] == reception.user.pk
        assert line["ip"] == "127.0.0.1"
        assert line["request"] == "GET /customers/"
    assert lines[1]["code"] == 200
    raw = log_lines.raw()
    for secret in ("13800138000", "张三", "\\u5f20", "lily.reception", "reception@"):
        assert secret not in raw


def test_a_signed_link_token_is_masked_in_the_request_line(rf):
    request = rf.get("/book/manage/eyJhIjoxMiwiYyI6MzR9:1vX2kq:Zt4m0Qy3rK9/cancel/?x=1")
    assert logs.request_line(request) == "GET /book/manage/<token>/cancel/"
    assert logs.request_line(rf.post("/customers/42/edit/")) == "POST /customers/42/edit/"


def test_a_constraint_clash_logs_the_constraint_not_the_clashing_values(db, caplog):
    from django.db import IntegrityError, transaction

    from salon_crm.api import exception_handler

    _message("reminder:13800138000", S.QUEUED, timezone.now())
    with pytest.raises(IntegrityError) as clash, transaction.atomic():
        _message("reminder:13800138000", S.QUEUED, timezone.now())
    with caplog.at_level(logging.INFO, logger="salon_crm.api"):
        assert exception_handler(clash.value, {}).status_code == 409
    assert "constraint violation mapped to 409" in caplog.text
    assert "13800138000" not in caplog.text


# ---- into the Celery task ------------------------------------------------------------------------


def test_the_request_id_travels_into_the_task_and_onto_its_log_lines(log_lines):
    receiver = CeleryReceiver()
    headers: dict = {}
    # the web side: a request publishes a task (django-structlog's before_task_publish receiver)
    with structlog.contextvars.bound_contextvars(request_id="req-0123456789ab", user_id=7, ip="203.0.113.9"):
        receiver.receiver_before_task_publish(headers=headers, properties={}, routing_key="celery")
    # only the request id and the user id travel in the message (the client address stays behind)
    assert headers["__django_structlog__"] == {"request_id": "req-0123456789ab", "user_id": 7}

    # the worker side: the task starts from its message's headers (the worker step's task_prerun)
    heartbeat.push_request(id="task-0001", __django_structlog__=headers["__django_structlog__"])
    try:
        receiver.receiver_task_prerun("task-0001", heartbeat)
        assert structlog.contextvars.get_contextvars() == {
            "task_id": "task-0001",
            "request_id": "req-0123456789ab",
            "user_id": 7,
        }
        logging.getLogger("salon_crm.tasks").warning("Task %s not enqueued", "messaging.dispatch")
    finally:
        heartbeat.pop_request()
    line = next(line for line in log_lines() if line["event"] == "Task messaging.dispatch not enqueued")
    assert (line["request_id"], line["task_id"], line["user_id"]) == ("req-0123456789ab", "task-0001", 7)


@app.task(name="tests.observability.log_context", ignore_result=False)
def log_context() -> dict:
    return dict(structlog.contextvars.get_contextvars())


@pytest.mark.broker
def test_a_real_worker_runs_the_task_under_the_requests_id():
    # The whole way: the publish adds the headers, the broker carries them, the worker's
    # django-structlog step binds them before the task runs.
    with start_worker(app, perform_ping_check=False, pool="solo", concurrency=1):
        with structlog.contextvars.bound_contextvars(request_id="req-e2e-0123456789", user_id=42):
            result = log_context.delay()
        context = result.get(timeout=30)
    structlog.contextvars.clear_contextvars()
    assert context == {"task_id": result.id, "request_id": "req-e2e-0123456789", "user_id": 42}


# ---- the JSON lines ------------------------------------------------------------------------------


def test_json_lines_have_one_shape_for_structlog_and_stdlib_loggers(log_lines):
    with structlog.contextvars.bound_contextvars(request_id="req-0123456789ab", user_id=3):
        structlog.get_logger("salon_crm.example").info("visit_checked_out", visit_id=12)
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("salon_crm.example").exception("Listener %r failed", "messaging.plan")
    first, second = log_lines()
    assert set(first) == {"event", "level", "logger", "timestamp", "request_id", "user_id", "visit_id"}
    assert (first["event"], first["level"], first["logger"], first["visit_id"]) == (
        "visit_checked_out",
        "info",
        "salon_crm.example",
        12,
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z", first["timestamp"])
    assert second["event"] == "Listener 'messaging.plan' failed" and second["level"] == "error"
    assert second["request_id"] == "req-0123456789ab"
    assert second["exception"].startswith("Traceback") and "ValueError: boom" in second["exception"]
    assert "\n" not in log_lines.raw().rstrip("\n").split("\n")[0]  # one line each


def test_the_log_format_follows_debug_unless_set():
    show = "import salon_crm.settings as s; print(s.LOG_FORMAT)"
    for env, expected in (
        ({}, "json"),
        ({"DJANGO_DEBUG": "1"}, "console"),
        ({"DJANGO_LOG_FORMAT": "console"}, "console"),
        ({"DJANGO_DEBUG": "1", "DJANGO_LOG_FORMAT": "json"}, "json"),
    ):
        result = subprocess.run(
            [sys.executable, "-c", show],
            cwd=ROOT,
            env={**_settings_env(), **env},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert (result.returncode, result.stdout.strip().splitlines()[-1]) == (0, expected), result.stderr
    bad = settings_with(DJANGO_LOG_FORMAT="xml")
    assert bad.returncode != 0 and "DJANGO_LOG_FORMAT" in bad.stderr


def _settings_env() -> dict:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="settings-test-" + "x" * 40,
        FIELD_ENCRYPTION_KEYS="dGVzdC1vbmx5LWZpZWxkLWtleS0wMTIzNDU2Nzg5YWI=",
    )
    return env


# ---- /metrics: who may read it -------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("token", "remote", "headers", "allowed"),
    [
        ("", "127.0.0.1", {}, True),
        ("", "10.20.0.7", {}, True),  # Prometheus in the private network
        ("", "::1", {}, True),
        ("", "1.2.3.4", {}, False),  # the internet
        ("", "::ffff:1.2.3.4", {}, False),
        ("", "10.20.0.2", {"HTTP_X_FORWARDED_FOR": "1.2.3.4"}, False),  # through the load balancer
        ("s3cret-metrics-token", "127.0.0.1", {}, False),  # a token is set: it is required
        ("s3cret-metrics-token", "1.2.3.4", {"HTTP_AUTHORIZATION": "Bearer wrong"}, False),
        ("s3cret-metrics-token", "1.2.3.4", {"HTTP_AUTHORIZATION": "Token s3cret-metrics-token"}, False),
        ("s3cret-metrics-token", "1.2.3.4", {"HTTP_AUTHORIZATION": "Bearer s3cret-metrics-token"}, True),
    ],
)
def test_metrics_answer_the_token_or_a_private_address_only(
    client, settings, token, remote, headers, allowed
):
    settings.METRICS_TOKEN = token
    response = client.get(reverse("metrics"), REMOTE_ADDR=remote, **headers)
    assert response.status_code == (200 if allowed else 404)
    if allowed:
        assert b"salon_outbox_messages" in response.content
    else:
        assert b"salon_" not in response.content


# ---- /metrics: what it says ------------------------------------------------------------------------


def _message(key: str, status: str, scheduled_for: datetime) -> OutboundMessage:
    return OutboundMessage.objects.create(
        kind="appointment_reminder",
        channel="sms",
        idempotency_key=key,
        language="en",
        status=status,
        scheduled_for=scheduled_for,
    )


@pytest.fixture
def outbox(db, monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    _message("due-oldest", S.QUEUED, NOW - timedelta(seconds=400))
    _message("due", S.QUEUED, NOW - timedelta(seconds=90))
    _message("later", S.QUEUED, NOW + timedelta(hours=1))  # not due: not behind
    _message("sent-1", S.SENT, NOW - timedelta(hours=3))
    _message("sent-2", S.SENT, NOW - timedelta(days=2))
    _message("gone", S.SENDING, NOW - timedelta(seconds=30))
    _message("lost", S.UNKNOWN, NOW - timedelta(days=1))
    _message("refused", S.FAILED, NOW - timedelta(hours=5))
    _message("no-consent", S.SUPPRESSED, NOW - timedelta(days=3))


def test_metrics_report_the_outbox_by_status_and_the_oldest_due_age(
    client, outbox, django_assert_num_queries
):
    # 2 queries: open messages by status (message_status_idx), the oldest due one (message_due_idx)
    with django_assert_num_queries(2):
        values = _metrics(client.get(reverse("metrics")))
    by_status = {
        dict(labels)["status"]: value
        for (name, labels), value in values.items()
        if name == "salon_outbox_messages"
    }
    # the outbox's depth: what is still open (sent, failed, suppressed are history)
    assert by_status == {"queued": 3, "sending": 1, "unknown": 1}
    assert values[("salon_outbox_unknown_messages", ())] == 1
    assert values[("salon_outbox_oldest_due_age_seconds", ())] == 400.0


def test_nothing_due_is_an_age_of_zero(client, db, monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    _message("later", S.QUEUED, NOW + timedelta(minutes=5))
    values = _metrics(client.get(reverse("metrics")))
    assert values[("salon_outbox_oldest_due_age_seconds", ())] == 0.0
    assert values[("salon_outbox_unknown_messages", ())] == 0


@pytest.mark.django_db
def test_metrics_include_request_latency_by_view(client):
    client.get(reverse("healthz_live"))
    values = _metrics(client.get(reverse("metrics")))
    names = {name for name, _labels in values}
    assert "django_http_requests_latency_seconds_by_view_method_bucket" in names
    assert values[("django_http_responses_total_by_status_view_method_total", (("method", "GET"), ("status", "200"), ("view", "healthz_live")))] >= 1  # fmt: skip


@pytest.mark.django_db
def test_an_error_answered_before_the_view_is_counted_by_status(
    client_as, reception, database_down_later, log_lines
):
    # a database outage fails the session's load in the middleware, before any view: the 5xx
    # alert must still see it (django-prometheus's status counter runs outside every middleware)
    client = client_as(reception)
    client.raise_request_exception = False  # the answer, as a browser gets it
    sample = "django_http_responses_total_by_status_total"
    before = {code: REGISTRY.get_sample_value(sample, {"status": code}) or 0 for code in ("500", "503")}
    with database_down_later():
        response = client.get(reverse("accounts:today"), HTTP_X_REQUEST_ID="req-outage-000001")
    status = str(response.status_code)
    assert status in before, status
    assert REGISTRY.get_sample_value(sample, {"status": status}) == before[status] + 1
    # and the request says so in the log, under its id (the user could not be loaded: no user id)
    assert response["X-Request-ID"] == "req-outage-000001"
    failed = [line for line in log_lines() if line["event"] == "request_failed"]
    assert [(line["request_id"], line.get("user_id"), line["code"]) for line in failed] == [
        ("req-outage-000001", None, 500)  # django-structlog's code for "a view raised"
    ]
    # one line per refused request during an outage, not a traceback each
    assert failed[0]["error"] == "OperationalError" and "exception" not in failed[0]


@pytest.mark.django_db
def test_failed_logins_are_counted(client, reception):
    before = REGISTRY.get_sample_value("salon_login_failures_total")
    response = client.post(reverse("accounts:login"), {"username": "reception", "password": "wrong-password"})
    assert response.status_code == 200  # the form again, with its error
    assert REGISTRY.get_sample_value("salon_login_failures_total") == before + 1
    assert (
        client.post(reverse("accounts:login"), {"username": "reception", "password": PASSWORD}).status_code
        == 302
    )
    assert REGISTRY.get_sample_value("salon_login_failures_total") == before + 1
    assert _metrics(client.get(reverse("metrics")))[("salon_login_failures_total", ())] == before + 1


def test_gunicorn_workers_counts_are_added_up_in_multiprocess_mode(client, db, tmp_path, monkeypatch):
    # two "workers" count a failed login each in their own process, as gunicorn's do
    for _ in range(2):
        subprocess.run(
            [
                sys.executable,
                "-c",
                "from prometheus_client import Counter; Counter('salon_login_failures', '').inc()",
            ],
            env={"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PATH": ""},
            check=True,
            timeout=30,
        )
    assert len(list(tmp_path.glob("counter_*.db"))) == 2
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    values = _metrics(client.get(reverse("metrics")))
    assert values[("salon_login_failures_total", ())] == 2
    assert ("salon_outbox_oldest_due_age_seconds", ()) in values  # read at scrape time, as before


def test_gunicorn_config_clears_stale_values_and_masks_the_access_log(tmp_path, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    spec = importlib.util.spec_from_file_location("gunicorn_conf", ROOT / "gunicorn.conf.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    (tmp_path / "counter_123.db").write_bytes(b"old")
    (tmp_path / "notes.txt").write_text("not ours")
    conf.on_starting(server=None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    assert conf._masked("/m/u/eyJjIjo0Mn0:1vX2kq:Zt4m0Qy3rK9/") == "/m/u/<token>/"
    assert "%(q)s" not in conf.access_log_format and "%(r)s" not in conf.access_log_format
    assert "%(f)s" not in conf.access_log_format  # the referrer carries the previous page's query


# ---- Celery task counters (the worker) -----------------------------------------------------------


@app.task(name="tests.observability.fails")
def fails() -> None:
    raise RuntimeError("no")


@pytest.fixture
def counting_tasks():
    metrics.worker_init()
    yield
    for signal, uid in (
        (celery_signals.task_success, "salon_crm.metrics.success"),
        (celery_signals.task_failure, "salon_crm.metrics.failure"),
        (celery_signals.task_retry, "salon_crm.metrics.retry"),
    ):
        signal.disconnect(dispatch_uid=uid)


def _tasks(task: str, outcome: str) -> float:
    return REGISTRY.get_sample_value("salon_celery_tasks_total", {"task": task, "outcome": outcome}) or 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_worker_counts_tasks_by_name_and_outcome_and_serves_them(counting_tasks):
    succeeded = _tasks("salon_crm.tasks.heartbeat", "succeeded")
    failed = _tasks("tests.observability.fails", "failed")
    heartbeat.apply()
    assert fails.apply(throw=False).failed()  # the worker's way: no eager propagation
    metrics.task_retried(sender=heartbeat)  # what task_retry sends when a task calls self.retry()
    assert _tasks("salon_crm.tasks.heartbeat", "succeeded") == succeeded + 1
    assert _tasks("tests.observability.fails", "failed") == failed + 1
    assert _tasks("salon_crm.tasks.heartbeat", "retried") >= 1

    port = _free_port()
    server, thread = metrics.serve_task_metrics(port, "127.0.0.1")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
            body = answer.read().decode()
    finally:
        server.shutdown()
        server.server_close()
    assert (
        f'salon_celery_tasks_total{{outcome="succeeded",task="salon_crm.tasks.heartbeat"}} {succeeded + 1}'
        in body
    )


# ---- health --------------------------------------------------------------------------------------


def _refuse(self):
    raise OperationalError("connection refused")


@pytest.fixture
def database_down(monkeypatch):
    """Every connection attempt fails, in this thread and in the checks' threads."""
    monkeypatch.setattr(BaseDatabaseWrapper, "ensure_connection", _refuse)


@pytest.fixture
def database_down_later(monkeypatch):
    """The same, from inside a `with` (after the test's own setup has used the database)."""

    @contextlib.contextmanager
    def down():
        with monkeypatch.context() as patch:
            patch.setattr(BaseDatabaseWrapper, "ensure_connection", _refuse)
            yield

    return down


@pytest.mark.django_db
def test_liveness_answers_even_with_the_database_down(client, database_down):
    response = client.get(reverse("healthz_live"))
    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_readiness_is_503_with_the_database_down(client, database_down):
    for name in ("healthz_ready", "healthz"):
        response = client.get(reverse(name))
        assert response.status_code == 503
        body = response.json()
        assert (body["status"], body["database"]) == ("error", "error: OperationalError")


@pytest.mark.django_db
def test_readiness_is_200_degraded_with_the_cache_down(client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{_free_port()}/0",  # nothing listens there
            "OPTIONS": {
                "socket_connect_timeout": settings.REDIS_TIMEOUT,
                "socket_timeout": settings.REDIS_TIMEOUT,
            },
        }
    }
    for name in ("healthz_ready", "healthz"):
        response = client.get(reverse(name))
        assert response.status_code == 200
        body = response.json()
        assert (body["status"], body["database"], body["cache"]) == (
            "degraded",
            "ok",
            "error: ConnectionError",
        )
        assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_a_hung_database_check_is_abandoned_after_its_budget(client, monkeypatch):
    import time

    from health_check.checks import Database

    monkeypatch.setattr(Database, "run", lambda self: time.sleep(3))  # a connect that hangs
    monkeypatch.setattr(health.Database, "timeout", timedelta(seconds=0.2))
    started = time.monotonic()
    response = client.get(reverse("healthz_ready"))
    elapsed = time.monotonic() - started
    assert response.status_code == 503 and response.json()["database"] == "error: Timed out after 0.2 seconds"
    assert elapsed < 2.5, elapsed  # django-health-check's budget (+1 s), not the hung thread's 3 s


@pytest.mark.django_db
def test_readiness_all_up(client, settings):
    body = client.get(reverse("healthz_ready")).json()
    broker = "ok" if settings.CELERY_BROKER_URL else "not configured (tasks run eagerly)"
    assert body == {"status": "ok", "database": "ok", "cache": "ok", "broker": broker}


def test_the_compose_healthcheck_asks_for_readiness():
    compose = (ROOT / "docker-compose.yml").read_text()
    assert "http://127.0.0.1:8000/healthz/ready" in compose
