"""The environment switches of two-factor login, the admin's URL, the proxy count and the rate
limits, read by the real settings module in a fresh interpreter (production-like: DEBUG off)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRINT = (
    "import json, salon_crm.settings as s; print(json.dumps({"
    "'otp': s.OTP_REQUIRED_ROLES, 'admin': s.ADMIN_URL, 'proxies': s.AXES_IPWARE_PROXY_COUNT,"
    "'order': s.AXES_IPWARE_META_PRECEDENCE_ORDER, 'rates': s.RATE_LIMITS,"
    "'cache': s.CACHES['default'].get('OPTIONS', {}), 'timeout': s.REDIS_TIMEOUT}))"
)


def settings_with(**env) -> subprocess.CompletedProcess:
    base = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OTP_", "DJANGO_", "AXES_", "RATE_LIMIT", "REDIS_", "CACHE_URL"))
    }
    base.update(
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="settings-test-" + "x" * 40,
        FIELD_ENCRYPTION_KEYS="dGVzdC1vbmx5LWZpZWxkLWtleS0wMTIzNDU2Nzg5YWI=",
    )
    base.update(env)
    return subprocess.run(
        [sys.executable, "-c", PRINT], cwd=ROOT, env=base, capture_output=True, text=True, timeout=60
    )


def read(**env) -> dict:
    result = settings_with(**env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_defaults():
    values = read()
    assert values["otp"] == ["owner", "manager"]  # on, whatever DEBUG says
    assert values["admin"] == "admin/"
    assert (values["proxies"], values["order"]) == (None, ["REMOTE_ADDR"])
    assert values["rates"]["online_book"] == "10/h" and values["rates"]["online_book_phone"] == "3/h"
    assert values["cache"] == {}  # in-process memory: no Redis options


def test_switches():
    values = read(
        OTP_REQUIRED_ROLES="",
        DJANGO_ADMIN_URL="/backstage-7f3a",
        AXES_PROXY_COUNT="2",
        RATE_LIMIT_LOGIN="5/m",
        CACHE_URL="redis://127.0.0.1:6379/3",
        REDIS_TIMEOUT="0.25",
    )
    assert values["otp"] == []  # the quick start's and a smoke test's switch
    assert values["admin"] == "backstage-7f3a/"
    # a load balancer and nginx: the header reads "client, balancer"
    assert (values["proxies"], values["order"]) == (1, ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"])
    assert values["rates"]["login"] == "5/m"
    assert values["cache"] == {"socket_connect_timeout": 0.25, "socket_timeout": 0.25}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"OTP_REQUIRED_ROLES": "owner,boss"}, "OTP_REQUIRED_ROLES"),
        ({"RATE_LIMIT_ONLINE_BOOK": "ten an hour"}, "online_book"),
        ({"DJANGO_ADMIN_URL": "/"}, "DJANGO_ADMIN_URL"),
    ],
)
def test_bad_values_stop_the_start(env, message):
    result = settings_with(**env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and message in result.stderr


def test_a_read_replica_from_the_environment():
    """DATABASE_REPLICA_URL adds the "replica" database the router sends the dashboards' reads to
    (tests mirror it onto the test database); without it there is none."""
    show = (
        "import json, salon_crm.settings as s; r = s.DATABASES.get('replica');"
        "print(json.dumps({'replica': r and {k: r[k] for k in ('HOST', 'PORT', 'NAME', 'TEST')},"
        "'routers': s.DATABASE_ROUTERS}))"
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    base.update(
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="settings-test-" + "x" * 40,
        FIELD_ENCRYPTION_KEYS="dGVzdC1vbmx5LWZpZWxkLWtleS0wMTIzNDU2Nzg5YWI=",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/salon",
    )
    for env, expected in (
        ({}, None),
        (
            {"DATABASE_REPLICA_URL": "postgres://postgres@10.0.0.2:5433/salon"},
            {"HOST": "10.0.0.2", "PORT": 5433, "NAME": "salon", "TEST": {"MIRROR": "default"}},
        ),
    ):
        result = subprocess.run(
            [sys.executable, "-c", show],
            cwd=ROOT,
            env={**base, **env},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        answer = json.loads(result.stdout.strip().splitlines()[-1])
        assert answer["replica"] == expected
        assert answer["routers"] == ["salon_crm.db_router.ReplicaRouter"]
