"""Dispatcher throughput: messages per minute per worker, with a fake SMS provider that answers
every request in 20 ms (a realistic gateway), and how it scales with two workers.

    .venv/bin/python bench/dispatch_bench.py                    # 3,000 messages, 1 then 2 workers
    .venv/bin/python bench/dispatch_bench.py --messages 1000 --latency 0.02

A "worker" here is a separate OS process running the dispatcher's own loop
(messaging.dispatch.dispatch_until_done), as a Celery worker process does; no broker is in the
loop (it only starts the passes). Own database (`salon_bench_messages`); writes
bench/results/dispatch.md."""

import argparse
import multiprocessing as mp
import os
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.djangosetup import setup_django

DB = "salon_bench_messages"
RESULTS = Path(__file__).resolve().parent / "results" / "dispatch.md"


def _worker(url: str, budget: float, out) -> None:
    """A forked process (Django already set up by the parent): its own connection, the channel
    pointed at the fake provider, no quiet hours (whatever hour the bench runs at)."""
    from django.conf import settings
    from django.db import connection

    from messaging import channels
    from messaging.dispatch import dispatch_until_done

    connection.close()
    settings.MESSAGING_CHANNELS = {
        "sms": {"BACKEND": "messaging.channels.sms_http.HttpSmsChannel", "OPTIONS": {"URL": url}}
    }
    settings.MESSAGING_CHANNEL_ORDER = ["sms"]
    settings.MESSAGING_QUIET_HOURS = ("00:00", "00:00")
    channels.backend.cache_clear()
    result = dispatch_until_done(budget_seconds=budget)
    out.put(result.sent)


def _plant(count: int) -> None:
    from django.utils import timezone

    from customers.models import Customer
    from messaging.models import OutboundMessage

    # Only its own rows: the suite's databases hold an outbox of their own (not due).
    OutboundMessage.objects.filter(idempotency_key__startswith="bench:").delete()
    Customer.objects.filter(name__startswith="Bench ", phone__startswith="+86166").delete()
    customers = Customer.objects.bulk_create(
        [Customer(name=f"Bench {n}", phone=f"+86166{n:08d}") for n in range(count)], batch_size=2000
    )
    due = timezone.now() - timedelta(minutes=1)
    OutboundMessage.objects.bulk_create(
        [
            OutboundMessage(
                customer=c,
                kind="appointment_reminder",
                channel="sms",
                idempotency_key=f"bench:{c.pk}",
                language="en",
                body="Reminder",
                scheduled_for=due,
            )
            for c in customers
        ],
        batch_size=2000,
    )


def run(workers: int, count: int, latency: float) -> dict:
    from django.db import connection

    from tests.messaging.fakes import FakeProvider

    _plant(count)
    fake = FakeProvider(delay=latency)
    connection.close()
    out = mp.get_context("fork").Queue()
    started = time.perf_counter()
    procs = [
        mp.get_context("fork").Process(target=_worker, args=(fake.url + "/send", 600, out))
        for _ in range(workers)
    ]
    for p in procs:
        p.start()
    sent = [out.get() for _ in procs]
    elapsed = time.perf_counter() - started
    for p in procs:
        p.join()
    keys = Counter(fake.keys())
    fake.stop()
    return {
        "workers": workers,
        "messages": count,
        "seconds": elapsed,
        "per_minute": sum(sent) / elapsed * 60,
        "per_minute_per_worker": sum(sent) / elapsed * 60 / workers,
        "sent_each": sent,
        "duplicates": sum(n - 1 for n in keys.values() if n > 1),
        "received": len(keys),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--latency", type=float, default=0.02)
    args = parser.parse_args()
    setup_django(DB)
    rows = [run(n, args.messages, args.latency) for n in (1, 2)]
    load = os.getloadavg()
    lines = [
        "# Dispatcher throughput",
        "",
        f"Fake SMS provider answering in {args.latency * 1000:.0f} ms; {args.messages} due messages; "
        f"load average at the end {load[0]:.2f} (2 cores).",
        "",
        "| workers | seconds | messages/min | per worker | sent by each | received by the provider | sent twice |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r['workers']} | {r['seconds']:.1f} | {r['per_minute']:.0f} | {r['per_minute_per_worker']:.0f} | "
            f"{', '.join(map(str, r['sent_each']))} | {r['received']} | {r['duplicates']} |"
        )
    from django.conf import settings

    threads = settings.MESSAGING_SEND_THREADS
    lines += [
        "",
        f"Each worker sends with {threads} threads (MESSAGING_SEND_THREADS): at {args.latency * 1000:.0f} ms "
        f"per provider call the provider side alone would allow {threads * 60 / args.latency:,.0f}/min per "
        "worker; what a worker really does is bound by the database (two UPDATEs per message and a claim per "
        "batch) and the CPU. Times include starting the worker processes. With both workers on this "
        "2-core machine, the two processes (and PostgreSQL) share the same two cores.",
    ]
    RESULTS.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
