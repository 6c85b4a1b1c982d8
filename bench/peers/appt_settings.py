"""Settings of the scratch project that runs `django-appointment` 3.12.0 for bench/peers_bench.py
(its side of the side-by-side): the package's own app in a bare Django project, nothing of ours.

Runs in its own virtualenv (`.venv-peers`, from bench/peers/requirements.txt): django-appointment
3.12.0 requires django-phonenumber-field < 9, and the product pins 9.0.0, so the package cannot be
installed next to the product (pip reports ResolutionImpossible). Its own database,
`salon_bench_peer_appt` by default (PEER_APPT_DB; PEER_APPT_PG for another server).

The package ships no migrations (its README asks the project to run makemigrations): its tables
are created by `migrate --run-syncdb` (MIGRATION_MODULES below), as for any unmigrated app."""

import os

SECRET_KEY = "bench-only-django-appointment-peer"
DEBUG = False  # as production: DEBUG records every SQL statement
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
# The salon's wall clock: django-appointment keeps naive dates and times in the site's zone.
TIME_ZONE = os.environ.get("PEER_APPT_TZ", "Asia/Shanghai")
USE_TZ = True
USE_I18N = True
LANGUAGE_CODE = "en"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "appointment",
]
MIGRATION_MODULES = {"appointment": None}

MIDDLEWARE = [  # Django's startproject defaults
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "bench.peers.appt_urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
_server = os.environ.get("PEER_APPT_PG", "postgres://postgres@127.0.0.1:5432")
_user_host = _server.split("://", 1)[1]
_user, _host_port = _user_host.split("@", 1)
_host, _, _port = _host_port.partition(":")
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("PEER_APPT_DB", "salon_bench_peer_appt"),
        "USER": _user.split(":")[0],
        "PASSWORD": _user.split(":")[1] if ":" in _user else "",
        "HOST": _host,
        "PORT": _port or "5432",
    }
}
# Django's default cache (local memory): django-appointment caches its Config there.
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
STATIC_URL = "static/"
APPOINTMENT_WEBSITE_NAME = "Bench salon"
# The package's own defaults would be a 30-minute grid from 09:00 to 18:30; the bench also writes
# the same values into its Config row (which takes precedence).
APPOINTMENT_SLOT_DURATION = 15
APPOINTMENT_BUFFER_TIME = 0
APPOINTMENT_LEAD_TIME = (10, 0)
APPOINTMENT_FINISH_TIME = (21, 0)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["stderr"], "level": "WARNING"},
}
