"""Settings, read from the environment (django-environ) with safe development defaults.

Production sets DJANGO_SECRET_KEY, DATABASE_URL, CELERY_BROKER_URL, DJANGO_ALLOWED_HOSTS and
FIELD_ENCRYPTION_KEYS. `make run` sets DJANGO_DEBUG=1, which lets development secrets be
generated once under var/ instead of being hard-coded here.
"""

import re
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from salon_crm import logs

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
if (BASE_DIR / ".env").exists():
    env.read_env(str(BASE_DIR / ".env"))

DEBUG = env.bool("DJANGO_DEBUG", default=False)


def _dev_secret(name: str, make) -> str:
    """A development-only secret kept in var/ so restarts keep sessions and decrypt data."""
    path = VAR_DIR / name
    if not path.exists():
        VAR_DIR.mkdir(exist_ok=True)
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


def _random_key() -> str:
    from django.utils.crypto import get_random_string

    return get_random_string(64)


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY is required when DJANGO_DEBUG is off.")
    SECRET_KEY = _dev_secret("dev_secret_key", _random_key)

# Field encryption keys (health data): comma-separated Fernet keys, newest first. Not derived
# from SECRET_KEY, so rotating one does not touch the other. `manage.py rotate_encryption_keys`
# re-encrypts every row with the first key.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
if not FIELD_ENCRYPTION_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is required when DJANGO_DEBUG is off.")
    FIELD_ENCRYPTION_KEYS = [_dev_secret("field_encryption.key", _fernet_key)]

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "template_partials",
    "axes",
    "auditlog",
    "import_export",
    "phonenumber_field",
    "django_celery_beat",
    # Two-factor login: TOTP (an authenticator app) and single-use backup codes.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    # Observability (docs/operations.md): JSON logs with a request id that follows the request into
    # its Celery tasks (salon_crm/logs.py), Prometheus metrics on /metrics (salon_crm/metrics.py).
    "django_structlog",
    "django_prometheus",
    # Project-wide start-up hooks (salon_crm.apps): control characters refused in every form and API field.
    "salon_crm",
    "accounts",
    "customers",
    "appointments",
    "messaging",
    "loyalty",
    "feedback",
    "analytics",
]

MIDDLEWARE = [
    # Prometheus (salon_crm/metrics.py): both first, not "After" last as django-prometheus suggests,
    # so the responses a middleware answers are counted by status too (the 503 of a database
    # outage comes from the session or user load, before any view).
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # After WhiteNoise (static files need no policy), before everything that can answer.
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # A NUL in a query parameter or form field is a 400 before any view reads it.
    "salon_crm.middleware.RejectNulMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The request id (X-Request-ID in and out) and the user's id on every log line of the request
    # (django-structlog's RequestMiddleware, which a database outage cannot break).
    "salon_crm.middleware.RequestMiddleware",
    # request.user.is_verified(); then owners and managers without a confirmed code are sent to it.
    "django_otp.middleware.OTPMiddleware",
    "accounts.otp.OTPRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
    # Last, as django-axes asks: it turns lockouts raised by the backend into responses.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "salon_crm.urls"
WSGI_APPLICATION = "salon_crm.wsgi.application"
ASGI_APPLICATION = "salon_crm.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.shell",
                # the offline day view's per-session key and "as of" time (accounts/offline.py)
                "accounts.offline.context",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")
if IS_POSTGRES:
    # Custom plans keep `LIKE $1 || '%'` prefix searches on their indexes (see shared SEARCH.md).
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c plan_cache_mode=force_custom_plan"
# A read replica (streaming, seconds behind): the dashboards, reports and metrics API read from it
# (salon_crm.db_router); every write and every other read goes to the primary above.
if env("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = {
        **env.db("DATABASE_REPLICA_URL"),
        "CONN_MAX_AGE": DATABASES["default"]["CONN_MAX_AGE"],
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": dict(DATABASES["default"].get("OPTIONS", {})),
        "TEST": {"MIRROR": "default"},  # tests read the test database through the same connection
    }
DATABASE_ROUTERS = ["salon_crm.db_router.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend with its permission loads in plain SQL (same queries, ~2 ms less per API call).
    "salon_crm.auth_backends.PlainSQLModelBackend",
    # Still listed so sessions logged in through it stay valid; it reads the permission caches
    # the backend above fills (same attribute names), so it adds no queries.
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:home"
LOGOUT_REDIRECT_URL = "accounts:login"

# django-axes: a salon's front desk shares one IP, so lock the username *at* that IP only;
# a mistyped password on one account never locks the whole shop out.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
# Trust X-Forwarded-For only behind a known number of proxies; otherwise a client could pick
# its own "IP" and dodge the lockout (and the rate limits, which count the same address).
# AXES_PROXY_COUNT is how many reverse proxies stand between clients and gunicorn (a load
# balancer: 1; a load balancer and nginx: 2). Each one appends the address it saw, so the header
# reads "client, proxy1, ..." without the last proxy (that one is REMOTE_ADDR): ipware's count
# of proxies listed after the client is one less. A header of any other length is not trusted.
_PROXIES = env.int("AXES_PROXY_COUNT", default=0)
AXES_IPWARE_PROXY_COUNT = _PROXIES - 1 if _PROXIES > 0 else None
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR") if _PROXIES > 0 else ("REMOTE_ADDR",)
)

LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="en")
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Shanghai")
# One clock and one calendar style per language: 2026-12-04, 14:00, weeks from Monday.
FORMAT_MODULE_PATH = "salon_crm.formats"
USE_I18N = True
USE_TZ = True

CURRENCY = env.str("SALON_CURRENCY", default="CNY")

# Booking rules (appointments): cancellation policy window, slot grid, online cut-off.
BOOKING_CANCEL_POLICY_HOURS = env.int("BOOKING_CANCEL_POLICY_HOURS", default=24)
BOOKING_SLOT_MINUTES = env.int("BOOKING_SLOT_MINUTES", default=15)
BOOKING_ONLINE_CUTOFF_HOURS = env.int("BOOKING_ONLINE_CUTOFF_HOURS", default=24)
# The online page offers a one-time SMS code to prove the phone (a proven phone books onto the
# client on file whatever name is typed). Off by default: it needs an SMS provider
# (MESSAGING_SMS); without a code, a phone on file under another name is held for the desk.
ONLINE_BOOKING_PHONE_CODE = env.bool("ONLINE_BOOKING_PHONE_CODE", default=False)
# Online booking's rate limits (per client address, per phone) are in RATE_LIMITS below.

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "media/"

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

PHONENUMBER_DEFAULT_REGION = env.str("PHONENUMBER_DEFAULT_REGION", default="CN")
PHONENUMBER_DB_FORMAT = "E164"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so an unauthenticated request gets 401 with WWW-Authenticate: Token.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON nested too deep is a 400, not a RecursionError; form bodies as DRF's defaults.
    "DEFAULT_PARSER_CLASSES": [
        "salon_crm.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # drf-spectacular's, plus the error answers every operation can give (salon_crm/api.py).
    "DEFAULT_SCHEMA_CLASS": "salon_crm.api.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "salon_crm.pagination.Pagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "salon_crm.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Salon CRM API",
    "DESCRIPTION": "Front-desk CRM for beauty and hair salons. Authenticate with a session or "
    "`Authorization: Token <token>` from POST /api/v1/auth/token/.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "salon_crm.api.document_server_limits",  # the 414 gunicorn answers for a huge request line
    ],
    # Two different "source" choice sets (how a client found us; how a booking was made).
    "ENUM_NAME_OVERRIDES": {
        "CustomerSourceEnum": "customers.models.SourceChannel",
        "BookingSourceEnum": ["front_desk", "phone", "online", "walk_in"],
        # feedback: a case's status and its compensation (also the `kind` of /compensation/)
        "ComplaintStatusEnum": "feedback.models.Complaint.Status",
        "CompensationEnum": "feedback.models.Complaint.Compensation",
    },
}

# Celery: with no broker configured, tasks run eagerly in-process (the quick start needs no Redis).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL or None)
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# The static schedule; django-celery-beat copies it into the database on start.
CELERY_BEAT_SCHEDULE = {
    "heartbeat": {"task": "salon_crm.tasks.heartbeat", "schedule": timedelta(minutes=5)},
    # The outbox's dispatcher (messaging.tasks): due messages go out within a minute.
    "messaging-dispatch": {"task": "messaging.dispatch_tick", "schedule": timedelta(minutes=1)},
    # Bookings whose messages were never planned (the database went away after their commit).
    "messaging-repair": {"task": "messaging.repair_appointment_messages", "schedule": timedelta(minutes=10)},
    # Points past their last day expire, oldest first (loyalty.tasks); 02:30 server time.
    "loyalty-expire-points": {"task": "loyalty.expire_points", "schedule": crontab(hour=2, minute=30)},
    "loyalty-expire-packages": {"task": "loyalty.expire_packages", "schedule": crontab(hour=2, minute=40)},
    # Tiers: every client to the tier its last 12 months reach (downgrades happen only here).
    "loyalty-review-tiers": {"task": "loyalty.review_tiers", "schedule": crontab(hour=3, minute=0)},
    # Birthday coupons and greetings, planned at 09:00 (sent within the clients' waking hours).
    "loyalty-birthday-coupons": {"task": "loyalty.birthday_coupons", "schedule": crontab(hour=9, minute=0)},
    # Complaints past their deadline escalate to their owner and the chain's owners: every hour,
    # through the night too (feedback.tasks); overdue follow-up calls remind their caller at 08:30.
    "feedback-escalate-complaints": {"task": "feedback.escalate_complaints", "schedule": crontab(minute=7)},
    # The dashboards' roll-ups: rebuilt at 03:30, and the days touched since every five minutes.
    "analytics-rebuild": {"task": "analytics.rebuild", "schedule": crontab(hour=3, minute=30)},
    "analytics-rebuild-dirty": {"task": "analytics.rebuild_dirty", "schedule": timedelta(minutes=5)},
    # a campaign whose send stopped part-way (a worker died) sends the rest
    "analytics-campaigns-resume": {"task": "analytics.campaigns_resume", "schedule": timedelta(minutes=10)},
    "feedback-follow-up-reminders": {
        "task": "feedback.follow_up_reminders",
        "schedule": crontab(hour=8, minute=30),
    },
    # Privacy (customers.tasks): the owners' data retention (off unless set) and the unusual-volume
    # alerts of the access log, at 04:15 after the roll-ups.
    "privacy-retention": {"task": "privacy.retention", "schedule": crontab(hour=4, minute=15)},
}

# Security: strict unless DEBUG. TLS is terminated in front of the app (load balancer).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
# Probes and scrapes come over plain HTTP from inside the network: /healthz (and its live and
# ready forms), /metrics (a bearer token or a private address, salon_crm/metrics.py).
SECURE_REDIRECT_EXEMPT = [r"^healthz(/live|/ready)?$", r"^metrics$"]
SESSION_COOKIE_SECURE = env.bool("DJANGO_SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 60 * 60 * 24 * 30)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SILENCED_SYSTEM_CHECKS = env.list("DJANGO_SILENCED_SYSTEM_CHECKS", default=[])

# ---- Content-Security-Policy (django-csp) -------------------------------------------------------
# One policy for every response, whatever DEBUG says: nothing inline, nothing evaluated. Pages
# load their scripts and styles from static/ (event handlers are listeners in static/js/,
# colours and calendar positions are set through element.style, which CSP allows); Bootstrap's
# CSS draws its icons from data: URIs, hence img-src data:. Swagger UI is served by
# SpectacularSwaggerSplitView (its init script from a URL, its page style from static/css/), and
# the admin's one inline script (django-celery-beat's task form) is overridden in templates/.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": [NONE],
        # Where browsers POST violation reports, if the deployment collects them.
        "report-uri": env.str("CSP_REPORT_URI", default="") or None,
    },
}

# ---- Online prepayment of booking deposits (loyalty/payments_online.py) -------------------------
# "" (the default): pay at the desk, no online prepayment. "stripe": Stripe Checkout; its
# webhook is /loyalty/payments/stripe/webhook/ (event checkout.session.completed). The client
# is sent to the provider's page from a form on the booking's manage page, so that page's
# form-action must allow the provider's origin (browsers apply it to the redirect).
DEPOSIT_PAYMENT_PROVIDER = env.str("DEPOSIT_PAYMENT_PROVIDER", default="")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="https://api.stripe.com")
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
if DEPOSIT_PAYMENT_PROVIDER == "stripe":
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"].append("https://checkout.stripe.com")

# ---- Two-factor login (django-otp) and the admin's URL ------------------------------------------
# Roles that must confirm a code from an authenticator app (TOTP) after their password before
# any page, the admin or the API answers them (accounts/otp.py; a superuser counts as an owner).
# On by default everywhere, DEBUG or not. `make run` sets it empty so the demo users log in
# without a phone; a smoke test against a production build can do the same
# (OTP_REQUIRED_ROLES= ). Recovery: backup codes shown once at enrolment; an owner deletes a
# lost phone's device in the admin and its user enrols again at the next login.
_ROLES = {"owner", "manager", "receptionist", "stylist"}
OTP_REQUIRED_ROLES = [
    r.strip() for r in env.list("OTP_REQUIRED_ROLES", default=["owner", "manager"]) if r.strip()
]
if set(OTP_REQUIRED_ROLES) - _ROLES:
    raise ImproperlyConfigured(f"OTP_REQUIRED_ROLES: unknown roles {set(OTP_REQUIRED_ROLES) - _ROLES}.")
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Salon CRM")  # the name shown in the phone's app
OTP_BACKUP_CODES = 10
OTP_ADMIN_HIDE_SENSITIVE_DATA = True  # the admin never shows a device's secret or its QR code
# Where the Django admin lives ("admin/" by default); a less obvious path keeps scanners away.
ADMIN_URL = env.str("DJANGO_ADMIN_URL", default="admin/").strip("/") + "/"
if ADMIN_URL == "/":
    raise ImproperlyConfigured("DJANGO_ADMIN_URL must not be empty.")

# ---- Rate limits (django-ratelimit) and behaviour when Redis is down ---------------------------
# Every public endpoint is limited per client address (salon_crm/ratelimit.py; the address as
# django-axes sees it, through AXES_PROXY_COUNT proxies). Rates are django-ratelimit's
# "<count>/<period>" (s, m, h, d; "30/10m" is 30 per ten minutes). A limit that cannot be
# checked because the cache is down lets the request through with a logged warning.
RATELIMIT_ENABLE = env.bool("RATELIMIT_ENABLE", default=True)
RATELIMIT_USE_CACHE = "default"
RATELIMIT_FAIL_OPEN = True  # a counter lost between add and incr is not a reason to refuse
RATE_LIMITS = {
    # online booking and waitlist posts, per client address and per (normalised) phone number
    "online_book": env.str("RATE_LIMIT_ONLINE_BOOK", default="10/h"),
    "online_book_phone": env.str("RATE_LIMIT_ONLINE_BOOK_PHONE", default="3/h"),
    # a client's signed manage link: viewing, cancelling, moving (any method)
    "manage": env.str("RATE_LIMIT_MANAGE", default="120/h"),
    # login page posts: a whole shop (or chain) may share one address; django-axes still locks
    # each username at an address after AXES_FAILURE_LIMIT failures
    "login": env.str("RATE_LIMIT_LOGIN", default="60/10m"),
    "api_token": env.str("RATE_LIMIT_API_TOKEN", default="30/10m"),
    # the post-visit survey and the unsubscribe link (feedback, messaging)
    "survey": env.str("RATE_LIMIT_SURVEY", default="30/h"),
    "unsubscribe": env.str("RATE_LIMIT_UNSUBSCRIBE", default="30/h"),
}
for _group, _rate in RATE_LIMITS.items():
    if not re.fullmatch(r"[1-9]\d*/\d*[smhd]", _rate):
        raise ImproperlyConfigured(f"Rate limit {_group!r}: {_rate!r} is not like '10/h' or '30/10m'.")

# Redis (cache, broker, results) answers in well under a millisecond; one that does not answer
# within REDIS_TIMEOUT seconds is treated as down, so a dead or hung Redis costs a request at
# most that long per call, never Redis's and Celery's default waits (blocking, then 20 retries).
REDIS_TIMEOUT = env.float("REDIS_TIMEOUT", default=0.5)
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    _options = CACHES["default"].setdefault("OPTIONS", {})
    _options.setdefault("socket_connect_timeout", REDIS_TIMEOUT)
    _options.setdefault("socket_timeout", REDIS_TIMEOUT)
CELERY_BROKER_CONNECTION_TIMEOUT = REDIS_TIMEOUT
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": REDIS_TIMEOUT,
    "socket_timeout": REDIS_TIMEOUT,
}
# Publishing: one quick retry (a dropped pooled connection), then give up. Requests send
# through salon_crm.tasks.enqueue, which logs the failure instead of raising; what must not be
# lost (messages) is made durable in the database first and swept up by a periodic task.
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.1,
    "interval_max": 0.1,
}
# Tasks are fire and forget: no result is stored unless a task asks (heartbeat does), so a send
# never subscribes to the result backend (whose reconnects could hold a request).
CELERY_TASK_IGNORE_RESULT = True
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = REDIS_TIMEOUT
CELERY_REDIS_SOCKET_TIMEOUT = 5.0  # results: read by workers and tests, never while a request waits
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {
    "retry_policy": {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
}

# ---- Messaging (messaging/): channels, and the rules applied when a message is sent ------------

# Email: EMAIL_URL (django-environ), e.g. smtp+tls://user:password@smtp.example.com:587.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="salon@localhost")
# Where the links in messages point (confirm / cancel, unsubscribe): the public address.
MESSAGING_PUBLIC_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")
MESSAGING_SENDER_NAME = env.str("MESSAGING_SENDER_NAME", default="Salon")


def _messaging_channels() -> dict:
    """Each channel's backend from the environment; a channel left empty is not used."""
    console = "messaging.channels.local.ConsoleChannel"
    sms = env.str("MESSAGING_SMS", default="console")
    channels = {}
    if sms == "console":
        channels["sms"] = {"BACKEND": console}
    elif sms == "http":
        channels["sms"] = {
            "BACKEND": "messaging.channels.sms_http.HttpSmsChannel",
            "OPTIONS": {
                "URL": env.str("SMS_HTTP_URL"),
                "TOKEN": env.str("SMS_HTTP_TOKEN", default=""),
                "SENDER": env.str("SMS_SENDER", default=""),
                "WEBHOOK_SECRET": env.str("SMS_WEBHOOK_SECRET", default=""),
            },
        }
    elif sms == "twilio":
        channels["sms"] = {
            "BACKEND": "messaging.channels.twilio.TwilioChannel",
            "OPTIONS": {
                "ACCOUNT_SID": env.str("TWILIO_ACCOUNT_SID"),
                "AUTH_TOKEN": env.str("TWILIO_AUTH_TOKEN"),
                "FROM": env.str("TWILIO_FROM", default=""),
                "MESSAGING_SERVICE_SID": env.str("TWILIO_MESSAGING_SERVICE_SID", default=""),
                "STATUS_CALLBACK": env.str("TWILIO_STATUS_CALLBACK", default=""),
            },
        }
    if env.bool("MESSAGING_EMAIL", default=True):
        channels["email"] = {"BACKEND": "messaging.channels.email.EmailChannel"}
    wechat = env.str("MESSAGING_WECHAT", default="")
    if wechat == "console":
        channels["wechat"] = {"BACKEND": console}
    elif wechat == "wechat":
        channels["wechat"] = {
            "BACKEND": "messaging.channels.wechat.WeChatChannel",
            "OPTIONS": {
                "APP_ID": env.str("WECHAT_APP_ID"),
                "APP_SECRET": env.str("WECHAT_APP_SECRET"),
                "TOKEN": env.str("WECHAT_TOKEN", default=""),
                "DEFAULT_TEMPLATE_ID": env.str("WECHAT_TEMPLATE_ID", default=""),
            },
        }
    return channels


MESSAGING_CHANNELS = _messaging_channels()
# The order in which a client is reached: the first channel with an address (and, for
# marketing, their consent) wins.
MESSAGING_CHANNEL_ORDER = env.list("MESSAGING_CHANNEL_ORDER", default=["wechat", "sms", "email"])
# Quiet hours in each location's own zone (local wall clock, may cross midnight): deferred, not dropped.
MESSAGING_QUIET_HOURS = tuple(env.list("MESSAGING_QUIET_HOURS", default=["21:00", "09:00"]))
# At most N marketing messages per client in D days.
MESSAGING_MARKETING_CAP = tuple(env.list("MESSAGING_MARKETING_CAP", cast=int, default=[4, 30]))
MESSAGING_MAX_ATTEMPTS = env.int("MESSAGING_MAX_ATTEMPTS", default=5)
MESSAGING_BATCH_SIZE = env.int("MESSAGING_BATCH_SIZE", default=100)
MESSAGING_PARALLEL_PASSES = env.int("MESSAGING_PARALLEL_PASSES", default=4)
# Threads a pass sends with (a provider call is mostly waiting); PostgreSQL only.
MESSAGING_SEND_THREADS = env.int("MESSAGING_SEND_THREADS", default=8)
# A pass leases the rows it claims for this long; a row left `sending` this long by a worker
# that died becomes `unknown`.
MESSAGING_CLAIM_LEASE_SECONDS = env.int("MESSAGING_CLAIM_LEASE_SECONDS", default=120)
MESSAGING_SENDING_TIMEOUT_SECONDS = env.int("MESSAGING_SENDING_TIMEOUT_SECONDS", default=300)
MESSAGING_THANK_YOU_DELAY_MINUTES = env.int("MESSAGING_THANK_YOU_DELAY_MINUTES", default=120)
MESSAGING_CODE_MINUTES = 10
MESSAGING_CODES_PER_HOUR = 5

# ---- Analytics (docs/metrics.md) ------------------------------------------------------------------
# Lifecycle stages (METRICS.md): dormant after max(90, 2 × the median gap) days without a visit,
# lost after max(180, 4 × median); "new" for 60 days after the first visit.
ANALYTICS_DORMANT_DAYS = env.int("ANALYTICS_DORMANT_DAYS", default=90)
ANALYTICS_LOST_DAYS = env.int("ANALYTICS_LOST_DAYS", default=180)
ANALYTICS_DORMANT_FACTOR = env.float("ANALYTICS_DORMANT_FACTOR", default=2)
ANALYTICS_LOST_FACTOR = env.float("ANALYTICS_LOST_FACTOR", default=4)
ANALYTICS_NEW_DAYS = env.int("ANALYTICS_NEW_DAYS", default=60)
# A client with at least this many visits in 12 months is "high frequency" (docs/metrics.md).
ANALYTICS_HIGH_FREQUENCY_VISITS = env.int("ANALYTICS_HIGH_FREQUENCY_VISITS", default=6)
# the at-risk list (流失预警): P(alive) below this, or dormant
ANALYTICS_AT_RISK_P_ALIVE = env.float("ANALYTICS_AT_RISK_P_ALIVE", default=0.5)

# ---- Feedback (docs/feedback.md) ---------------------------------------------------------------
# A survey after every completed visit with a service, sent this long after checkout (quiet
# hours still hold it back), its link valid this many days.
FEEDBACK_SURVEYS = env.bool("FEEDBACK_SURVEYS", default=True)
FEEDBACK_SURVEY_DELAY_MINUTES = env.int("FEEDBACK_SURVEY_DELAY_MINUTES", default=120)
FEEDBACK_SURVEY_VALID_DAYS = env.int("FEEDBACK_SURVEY_VALID_DAYS", default=14)
# A low score opens a complaint case: satisfaction at most this (1–5), or a recommendation at
# most this (0–10) with a comment.
FEEDBACK_LOW_CSAT = env.int("FEEDBACK_LOW_CSAT", default=2)
FEEDBACK_LOW_NPS = env.int("FEEDBACK_LOW_NPS", default=6)
# A complaint is answered within this many hours (the seeds: 48); amber this long before.
FEEDBACK_COMPLAINT_DUE_HOURS = env.int("FEEDBACK_COMPLAINT_DUE_HOURS", default=48)
FEEDBACK_DUE_SOON_HOURS = env.int("FEEDBACK_DUE_SOON_HOURS", default=12)
# A follow-up call with no answer is tried again the next day, at most this many calls.
FEEDBACK_FOLLOW_UP_ATTEMPTS = env.int("FEEDBACK_FOLLOW_UP_ATTEMPTS", default=3)

# ---- Observability (docs/operations.md, "Observability") -------------------------------------
# Logs: one JSON object a line on stderr (structlog), readable lines when DEBUG is on;
# DJANGO_LOG_FORMAT=json|console chooses either way. Every line of a request carries its
# request_id (an incoming well-formed X-Request-ID, else a new one; sent back in X-Request-ID) and
# the user's id, and so do the lines of the Celery tasks it sent.
LOG_FORMAT = env.str("DJANGO_LOG_FORMAT", default="console" if DEBUG else "json")
if LOG_FORMAT not in logs.FORMATS:
    raise ImproperlyConfigured(f"DJANGO_LOG_FORMAT must be one of {logs.FORMATS}, not {LOG_FORMAT!r}.")
LOGGING = logs.logging_config(LOG_FORMAT, level=env.str("DJANGO_LOG_LEVEL", default="INFO"))
logs.configure_structlog()
DJANGO_STRUCTLOG_CELERY_ENABLED = True  # the request id travels in the task's message headers
# The address is bound by salon_crm.logs as django-axes resolves it (AXES_PROXY_COUNT), not
# django-structlog's own guess from X-Forwarded-For.
DJANGO_STRUCTLOG_IP_LOGGING_ENABLED = False
# Metrics: /metrics answers `Authorization: Bearer <METRICS_TOKEN>`; with no token, only a
# loopback or private address that came through no proxy. The Celery worker serves its task
# counters on CELERY_METRICS_PORT (0: not served), on CELERY_METRICS_ADDR.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
CELERY_METRICS_PORT = env.int("CELERY_METRICS_PORT", default=0)
CELERY_METRICS_ADDR = env.str("CELERY_METRICS_ADDR", default="0.0.0.0")
