"""Test settings: the real settings, with test-only secrets and fast password hashing.

DATABASE_URL and CELERY_BROKER_URL still come from the environment, so `make test` runs on
SQLite with eager tasks, and CI on PostgreSQL and Redis.
"""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-not-for-production-0123456789abcdef")
# A fixed test key (Fernet format), never used outside the test suite.
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "dGVzdC1vbmx5LWZpZWxkLWtleS0wMTIzNDU2Nzg5YWI=")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("DJANGO_SESSION_COOKIE_SECURE", "0")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")

from .settings import *  # noqa: F403
from .settings import STORAGES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
LANGUAGE_CODE = "en"
# The suite logs people in with force_login and posts many times from one address: two-factor
# login and rate limits are off here; tests/accounts/test_otp.py, tests/appointments/
# test_rate_limits.py and tests/test_redis_down.py switch them on.
OTP_REQUIRED_ROLES: list[str] = []
RATELIMIT_ENABLE = False
# Messages go to memory (messaging.channels.local.outbox); tests of real channels point a
# channel at a local fake provider or SMTP server with override_settings.
# In-process tests see their data only on the test's own connection: send from it. (Worker
# processes started by tests/messaging/test_workers.py use the default threads.)
MESSAGING_SEND_THREADS = 1 if not os.environ.get("MESSAGING_SMS") else MESSAGING_SEND_THREADS  # noqa: F405
# (Worker processes started by tests/messaging/test_workers.py set MESSAGING_SMS to use a fake.)
if not os.environ.get("MESSAGING_SMS"):
    MESSAGING_CHANNELS = {
        channel: {"BACKEND": "messaging.channels.local.LocmemChannel"}
        for channel in ("sms", "email", "wechat")
    }
