"""Issue 15, item 5: reads that may be seconds stale go to a read replica, writes never do.

- The router's rules (any database): inside `replica_reads()` reads go to "replica" when one is
  configured, outside they stay on the primary, inside a transaction on the primary they stay
  there (a view reads its own writes back), writes always go to the primary, nothing migrates
  on the replica; a streamed CSV reads its rows from the replica while it is sent.
- A real PostgreSQL streaming replica of this cluster (pg_basebackup on this machine, another
  port, hot standby): the dashboard's figures are read there while the login, the session and
  a write of the same manager (a win-back call planned from the at-risk list) go to the primary.
"""

import os
import shutil
import subprocess
import tempfile
import time
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from analytics.models import DailyStats
from salon_crm import db_router
from salon_crm.db_router import REPLICA, ReplicaRouter, reads_from_replica, replica_reads

ROUTER = ReplicaRouter()


def test_the_routers_rules(monkeypatch):
    monkeypatch.setattr(db_router, "replica_configured", lambda: True)
    assert ROUTER.db_for_read(DailyStats) is None  # the primary
    with replica_reads():
        assert ROUTER.db_for_read(DailyStats) == REPLICA
        assert ROUTER.db_for_write(DailyStats) == DEFAULT_DB_ALIAS
    assert ROUTER.db_for_read(DailyStats) is None
    assert ROUTER.allow_migrate(REPLICA, "analytics") is False
    assert ROUTER.allow_migrate(DEFAULT_DB_ALIAS, "analytics") is True
    monkeypatch.setattr(db_router, "replica_configured", lambda: False)
    with replica_reads():
        assert ROUTER.db_for_read(DailyStats) is None  # no replica: nothing changes


@pytest.mark.django_db
def test_inside_a_transaction_reads_stay_on_the_primary(monkeypatch):
    monkeypatch.setattr(db_router, "replica_configured", lambda: True)
    with replica_reads(), transaction.atomic():
        assert ROUTER.db_for_read(DailyStats) is None


def test_a_streamed_body_is_read_from_the_replica(monkeypatch):
    monkeypatch.setattr(db_router, "replica_configured", lambda: True)
    seen = []

    def rows():
        for _ in range(2):
            seen.append(ROUTER.db_for_read(DailyStats))
            yield "row\n"

    @reads_from_replica
    def view(request):
        return StreamingHttpResponse(rows())

    response = view(None)
    assert seen == []  # nothing read yet: the rows are read while the body is sent
    assert b"".join(response.streaming_content) == b"row\nrow\n"
    assert seen == [REPLICA, REPLICA]
    assert ROUTER.db_for_read(DailyStats) is None  # and the context ends with the body


# ---- a real streaming replica ------------------------------------------------------------------

REPLICA_PORT = int(os.environ.get("REPLICA_TEST_PORT", "5499"))
MAX_CLUSTER_BYTES = 2 * 1024**3  # pg_basebackup copies the whole cluster


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def _bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for version in (
        sorted(os.listdir("/usr/lib/postgresql"), reverse=True)
        if os.path.isdir("/usr/lib/postgresql")
        else []
    ):
        candidate = f"/usr/lib/postgresql/{version}/bin/{name}"
        if os.path.exists(candidate):
            return candidate
    pytest.skip(f"{name} is not installed")


@pytest.fixture
def streaming_replica():
    """A hot standby of the test database's cluster on REPLICA_PORT, streaming from it; stopped
    and removed afterwards. Skips (saying why) where PostgreSQL allows no replication connection
    from 127.0.0.1 (.ci/run allows it) or the cluster is too large to copy for a test."""
    if connection.vendor != "postgresql":
        pytest.skip("a streaming replica needs PostgreSQL")
    with connection.cursor() as cursor:
        cursor.execute("SELECT sum(pg_database_size(datname)) FROM pg_database")
        size = cursor.fetchone()[0]
    if size > MAX_CLUSTER_BYTES:
        pytest.skip(f"the cluster holds {size / 1024**3:.1f} GB: too much to copy for a test")
    primary = connection.settings_dict
    data = tempfile.mkdtemp(prefix="replica-")
    os.chmod(data, 0o700)
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    backup = subprocess.run(
        _as_postgres(
            [
                _bin("pg_basebackup"),
                "-h", primary["HOST"] or "127.0.0.1",
                "-p", str(primary["PORT"] or 5432),
                "-U", primary["USER"] or "postgres",
                "-D", data, "-R", "-X", "stream", "-c", "fast",
            ]
        ),
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    if backup.returncode != 0:
        shutil.rmtree(data, ignore_errors=True)
        if "pg_hba.conf" in backup.stderr and "replication" in backup.stderr:
            pytest.skip("PostgreSQL allows no replication connection from 127.0.0.1 (see .ci/run)")
        pytest.fail(f"pg_basebackup failed: {backup.stderr}")
    # Debian keeps a cluster's configuration outside its data directory: the standby gets its own
    # (the primary's connection and standby.signal were written by -R)
    for name, text in (
        ("postgresql.conf", ""),
        ("pg_hba.conf", "local all all trust\nhost all all 127.0.0.1/32 trust\n"),
        ("pg_ident.conf", ""),
    ):
        path = os.path.join(data, name)
        if not os.path.exists(path):
            with open(path, "w") as f:
                f.write(text)
            if os.geteuid() == 0:
                shutil.chown(path, "postgres", "postgres")
    options = (
        f"-p {REPLICA_PORT} -c listen_addresses=127.0.0.1 -c unix_socket_directories={data} -c hot_standby=on"
    )
    pg_ctl = _bin("pg_ctl")
    started = subprocess.run(
        _as_postgres([pg_ctl, "-D", data, "-o", options, "-l", f"{data}/log", "-w", "-t", "60", "start"]),
        capture_output=True,
        text=True,
        timeout=120,
    )
    try:
        if started.returncode != 0:
            with open(f"{data}/log") as log:
                pytest.fail(f"the replica did not start: {started.stderr} {log.read()[-2000:]}")
        yield REPLICA_PORT
    finally:
        subprocess.run(
            _as_postgres([pg_ctl, "-D", data, "-m", "immediate", "-w", "stop"]), capture_output=True
        )
        shutil.rmtree(data, ignore_errors=True)


def _caught_up(replica) -> None:
    """Wait until the replica has replayed everything the primary has written."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()")
        lsn = cursor.fetchone()[0]
    for _ in range(200):
        with replica.cursor() as cursor:
            cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [lsn])
            if cursor.fetchone()[0]:
                return
        time.sleep(0.05)
    raise AssertionError("the replica did not catch up within 10 s")


@pytest.mark.django_db(transaction=True)
def test_dashboard_reads_are_served_by_a_real_replica_and_writes_by_the_primary(
    streaming_replica, settings, client, location, monkeypatch
):
    from analytics import rollups
    from appointments.models import Visit
    from feedback.models import FollowUp
    from tests.accounts.factories import StaffMemberFactory
    from tests.customers.factories import CustomerFactory

    manager = StaffMemberFactory(user__username="replica_manager", role="manager", locations=[location])
    settings.OTP_REQUIRED_ROLES = []
    zone = ZoneInfo(location.time_zone)
    regular = CustomerFactory(name="复制客", home_location=location)
    for days_ago in (300, 200):
        when = datetime.now(zone).replace(hour=11, minute=0, second=0, microsecond=0) - timedelta(
            days=days_ago
        )
        Visit.objects.create(
            customer=regular,
            location=location,
            status=Visit.Status.COMPLETED,
            started_at=when,
            completed_at=when + timedelta(hours=1),
            subtotal=Decimal("300"),
            total=Decimal("300"),
        )
    rollups.rebuild()  # committed: this test runs without a wrapping transaction

    monkeypatch.setattr(db_router, "replica_configured", lambda: True)  # as DATABASE_REPLICA_URL would
    connections.settings[REPLICA] = {**connection.settings_dict, "PORT": streaming_replica}
    replica = connections[REPLICA]
    # connect now: the test case allows lazy connections only to the databases it declared at
    # its start, before this replica existed
    replica.connect()
    try:
        with replica.cursor() as cursor:
            cursor.execute("SELECT pg_is_in_recovery()")
            assert cursor.fetchone()[0] is True  # a standby: read-only, following the primary
        _caught_up(replica)
        client.force_login(manager.user)
        with CaptureQueriesContext(connection) as on_primary, CaptureQueriesContext(replica) as on_replica:
            page = client.get(reverse("analytics:dashboard"))
        assert page.status_code == 200
        replica_sql = " ".join(q["sql"] for q in on_replica.captured_queries)
        primary_sql = " ".join(q["sql"] for q in on_primary.captured_queries)
        assert "analytics_" in replica_sql and "analytics_dailystats" not in primary_sql
        assert "django_session" in primary_sql  # the session: the primary
        # the metrics API too
        with CaptureQueriesContext(replica) as api_reads:
            answer = client.get("/api/v1/metrics/lifecycle/")
        assert answer.status_code == 200 and answer.json()["lost"] + answer.json()["dormant"] >= 1
        assert api_reads.captured_queries
        # a write from the same manager goes to the primary (the replica refuses writes anyway)
        with CaptureQueriesContext(replica) as during_write:
            call = client.post(reverse("analytics:at_risk_call"), {"customer": regular.pk})
        assert call.status_code == 302
        assert FollowUp.objects.filter(customer=regular).count() == 1
        assert not any(q["sql"].lstrip().upper().startswith("INSERT") for q in during_write.captured_queries)
        _caught_up(replica)
        assert FollowUp.objects.using(REPLICA).filter(customer=regular).count() == 1  # and it streams over
    finally:
        replica.close()
        del connections[REPLICA]
        del connections.settings[REPLICA]
