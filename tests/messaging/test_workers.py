"""The dispatcher with real Celery worker processes on Redis and PostgreSQL: 1,000 due reminders
and two workers at once, each sent exactly once; a worker killed with SIGKILL mid-batch, then
no message sent twice and the rest out on the next pass."""

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from customers.models import Customer
from messaging import kinds
from messaging.models import OutboundMessage
from salon_crm.celery import app
from tests.messaging.fakes import FakeProvider

pytestmark = [pytest.mark.broker, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
S = OutboundMessage.Status
QUEUE = "messaging-test"
THREADS = 4  # the workers' sending threads: at most this many messages are in flight at once
LEASE = 3  # seconds: the workers' claim lease and sending timeout (a minute or more in production)
CELERY = str(Path(sys.executable).parent / "celery")


def due_reminders(count: int) -> list[str]:
    """`count` reminders due a minute ago, each to its own client: their keys."""
    customers = Customer.objects.bulk_create(
        [Customer(name=f"Client {n}", phone=f"+861390000{n:04d}") for n in range(count)]
    )
    due = timezone.now() - timedelta(minutes=1)
    rows = OutboundMessage.objects.bulk_create(
        [
            OutboundMessage(
                customer=c,
                kind=kinds.REMINDER,
                channel="sms",
                idempotency_key=f"reminder:{c.pk}",
                language="en",
                body=f"Reminder for {c.name}",
                scheduled_for=due,
            )
            for c in customers
        ]
    )
    return [r.idempotency_key for r in rows]


class Worker:
    def __init__(self, name: str, fake: FakeProvider, log_dir: Path):
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "salon_crm.test_settings",
            "DATABASE_URL": "postgres://{USER}@{HOST}:{PORT}/{NAME}".format(**connection.settings_dict),
            "MESSAGING_SMS": "http",
            "SMS_HTTP_URL": fake.url + "/send",
            "MESSAGING_CHANNEL_ORDER": "sms",
            "MESSAGING_QUIET_HOURS": "00:00,00:00",  # whatever hour CI runs at
            "MESSAGING_BATCH_SIZE": "50",
            "MESSAGING_SEND_THREADS": str(THREADS),
            "MESSAGING_CLAIM_LEASE_SECONDS": str(LEASE),
            "MESSAGING_SENDING_TIMEOUT_SECONDS": str(LEASE),
        }
        self.log_path = log_dir / f"{name}.log"
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                CELERY,
                "-A",
                "salon_crm",
                "worker",
                "--pool",
                "solo",
                "-Q",
                QUEUE,
                "-n",
                f"{name}@%h",
                "-l",
                "info",
            ],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.name = name

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "ready." in self.log_path.read_text():
                return
            if self.process.poll() is not None:
                raise AssertionError(self.log_path.read_text())
            time.sleep(0.2)
        raise AssertionError(f"worker {self.name} did not start:\n{self.log_path.read_text()}")

    def sent(self) -> int:
        """What this worker's passes reported sending (its task results in the log)."""
        return sum(int(n) for n in re.findall(r"'sent': (\d+)", self.log_path.read_text()))

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


def passes(n: int) -> None:
    for _ in range(n):
        app.send_task("messaging.dispatch_pass", kwargs={"budget_seconds": 30.0}, queue=QUEUE)


def wait_until(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("timed out")


@pytest.fixture
def fake():
    provider = FakeProvider(delay=0.005)
    yield provider
    provider.stop()


@pytest.fixture
def workers(fake, tmp_path):
    started: list[Worker] = []

    def start(*names: str) -> list[Worker]:
        """Start the workers at once (each takes seconds to boot Django), then wait for all."""
        new = [Worker(name, fake, tmp_path) for name in names]
        started.extend(new)
        for worker in new:
            worker.wait_ready()
        return new

    # Tasks other tests left on the queue would run against this database too: drop them.
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(QUEUE)
    yield start
    for worker in started:
        worker.stop()


def test_two_workers_send_1000_due_reminders_each_exactly_once(fake, workers):
    keys = due_reminders(1000)
    first, second = workers("w1", "w2")
    passes(4)
    wait_until(lambda: not OutboundMessage.objects.filter(status__in=[S.QUEUED, S.SENDING]).exists(), 120)
    sent = Counter(fake.keys())
    assert sorted(sent) == sorted(keys)  # every reminder reached the provider...
    assert max(sent.values()) == 1  # ...once
    others = list(OutboundMessage.objects.exclude(status=S.SENT).values_list("status", "last_error")[:5])
    assert OutboundMessage.objects.filter(status=S.SENT).count() == 1000, others
    wait_until(lambda: first.sent() + second.sent() == 1000, 30)  # the task results are logged
    assert first.sent() > 0 and second.sent() > 0  # both workers took part


def test_a_worker_killed_mid_batch_sends_nothing_twice_and_the_rest_go_out_next_pass(fake, workers):
    fake.delay = 0.02
    keys = due_reminders(300)
    [victim] = workers("victim")
    passes(1)
    wait_until(lambda: len(fake.keys()) >= 60, 60)
    victim.kill()  # SIGKILL: no chance to tidy up
    at_kill = Counter(fake.keys())
    assert max(at_kill.values()) == 1
    # the next pass, by another worker, once the dead worker's lease and sending time are over
    time.sleep(LEASE + 1.5)
    workers("rescuer")
    passes(2)
    wait_until(lambda: not OutboundMessage.objects.filter(status__in=[S.QUEUED, S.SENDING]).exists(), 120)
    sent = Counter(fake.keys())
    assert max(sent.values()) == 1  # no message sent twice
    unknown = list(OutboundMessage.objects.filter(status=S.UNKNOWN).values_list("idempotency_key", flat=True))
    # at most the ones in flight when the worker died (one per sending thread), left for a person
    assert len(unknown) <= THREADS
    delivered = set(OutboundMessage.objects.filter(status=S.SENT).values_list("idempotency_key", flat=True))
    assert delivered | set(unknown) == set(keys)
    assert delivered <= set(sent)
