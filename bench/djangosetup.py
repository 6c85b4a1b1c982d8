"""Django set-up shared by the benchmarks: a bench database of its own, production-like
settings (DEBUG off: DEBUG records every SQL statement and slows each request), migrated."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def setup_django(db: str) -> None:
    if db == "salon_crm":
        raise SystemExit("Refusing to use the application's database.")
    from cryptography.fernet import Fernet

    server = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
    os.environ["DATABASE_URL"] = f"{server}/{db}"
    os.environ.setdefault("DJANGO_DEBUG", "0")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-" + Fernet.generate_key().decode())
    os.environ.setdefault("FIELD_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "0")
    os.environ.setdefault("DJANGO_SESSION_COOKIE_SECURE", "0")
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
    os.environ["DJANGO_SETTINGS_MODULE"] = "salon_crm.settings"
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", db], capture_output=True)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    # Production serves hashed static names from collectstatic's manifest; the benches run no
    # collectstatic, so pages use plain static URLs (one dict lookup either way).
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    call_command("migrate", verbosity=0)
