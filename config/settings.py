"""Settings, all read from the environment in this one place.

Every value has a safe development default; with DEBUG off, the values that must not
default (SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL, REDIS_URL) raise ImproperlyConfigured.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.queues import queue_names
from config.settings_logging import configure_structlog, logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("LL_DATA_DIR", BASE_DIR / ".data"))


def env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_bool(name: str, default: bool) -> bool:
    value = env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = env(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def required(name: str, dev_default: str) -> str:
    value = env(name)
    if value is not None:
        return value
    if DEBUG:
        # The embedded servers `make run` started, when it runs (config/embedded.py).
        return _embedded_urls().get(name, dev_default)
    raise ImproperlyConfigured(f"{name} must be set when DEBUG is off.")


def _embedded_urls() -> dict[str, str]:
    from config.embedded import running_urls

    return running_urls(DATA_DIR / "embedded-urls.json")


# Off unless set: `make run` and `make test` set DEBUG=true for the local demo and the suite.
DEBUG = env_bool("DEBUG", False)
TESTING = env_bool("LL_TESTING", False)

SECRET_KEY = required("SECRET_KEY", "dev-only-insecure-key-change-me-0123456789abcdefghijklmnop")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", ".localhost"])
if not DEBUG and env("ALLOWED_HOSTS") is None:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# --- Applications -------------------------------------------------------------------------
# Tables of SHARED_APPS live in the public schema; TENANT_APPS get a copy in every tenant
# schema. Users, sessions, tokens, agent keys and admin live per tenant, so a credential
# only exists inside its own tenant. `learning` is in both: its public copy holds the ops
# superusers of the public admin (tenants, beat schedules).
SHARED_APPS = [
    # First, so that its create_tenant command replaces django-tenants' own.
    "learning.tenancy",
    "django_tenants",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "csp",
    "django_ratelimit",
    "learning.admin_config.TenantAdminConfig",
    "django.contrib.staticfiles",
    "learning",
    "django_celery_beat",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "channels",
    "django_prometheus",  # request and database metrics (config/metrics.py)
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "learning.admin_config.TenantAdminConfig",
    "learning",
    "outcomes",
    "feedback",
    "calibration",
    "coaching",
    "insights",
    "prompts",
    "demo",
]
INSTALLED_APPS = [
    *SHARED_APPS,
    *[app for app in TENANT_APPS if app not in SHARED_APPS],
    # Last: wires the apps' events to their subscribers (config/wiring.py).
    "config.apps.WiringConfig",
]

TENANT_MODEL = "tenancy.Tenant"
# Issue SET search_path only when the tenant changes (django-tenants resets it on
# set_tenant, close and rollback), not before every query.
TENANT_LIMIT_SET_CALLS = True
TENANT_DOMAIN_MODEL = "tenancy.Domain"
PUBLIC_SCHEMA_NAME = "public"
PUBLIC_SCHEMA_URLCONF = "config.urls_public"
ROOT_URLCONF = "config.urls_tenant"
# Tenants are addressed by a path prefix: /t/<slug>/... (see learning/tenancy/routing.py).
TENANT_PATH_PREFIX = "t"
# How long a process remembers which tenant a slug or host name routes to (see
# learning.tenancy.selectors); changes made in the same process apply at once.
TENANT_CACHE_SECONDS = float(env("TENANT_CACHE_SECONDS", "5") or 0)
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
# New tenants' schemas are copies of this migrated template schema, not migrated one by
# one (learning.tenancy.template; migrate_schemas keeps it migrated). "" turns it off.
TENANT_BASE_SCHEMA = env("TENANT_TEMPLATE_SCHEMA", "tenant_template") or ""
TENANT_CREATION_FAKES_MIGRATIONS = bool(TENANT_BASE_SCHEMA)
# Processes of `migrate_schemas --executor=multiprocessing` (django-tenants' default, 2).
TENANT_MULTIPROCESSING_MAX_PROCESSES = int(env("TENANT_MIGRATION_PROCESSES", "2") or 2)
# Its multiprocessing executor, made safe with the psycopg pool (learning.tenancy.executors).
GET_EXECUTOR_FUNCTION = "learning.tenancy.executors.get_executor"
AUTH_USER_MODEL = "learning.User"
AUTHENTICATION_BACKENDS = [
    # Refuses sign-ins from an address that failed too often, before any password is
    # checked (learning.lockout); then Django's own check.
    "learning.lockout.SignInLimitBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# PagesOnly…: skipped by bearer API calls (learning.api_http.pages_only): the agent's
# requests skip sessions, cookies, CSRF, messages and page headers.
MIDDLEWARE = [
    # First and last: requests' latency, by view name (a route's, never a tenant's path).
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "learning.tenancy.middleware.TenantPathMiddleware",
    "learning.nul_guard.RejectNulMiddleware",  # a NUL in a URL or cookie: 400, not a 500
    "learning.api_http.PagesOnlyTenantCookieMiddleware",
    "learning.api_http.PagesOnlySessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "learning.api_http.PagesOnlyCsrfViewMiddleware",
    "learning.api_http.PagesOnlyAuthenticationMiddleware",
    "learning.access.DeclaredAccessMiddleware",  # a view that declares no access: 403
    "learning.time_zones.ReaderTimeZoneMiddleware",  # pages' times in the reader's zone
    "learning.api_http.PagesOnlyMessageMiddleware",
    "learning.api_http.PagesOnlySignInLimitMiddleware",
    "learning.api_http.NoStoreApiMiddleware",
    "learning.api_http.PagesOnlyXFrameOptionsMiddleware",
    "learning.api_http.PagesOnlyCSPMiddleware",
    "django_structlog.middlewares.RequestMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "learning.context_processors.tenant",
                "insights.context_processors.alerts",
                "demo.context_processors.history_build",
            ],
        },
    },
]

ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = "config.wsgi.application"

# --- Database -------------------------------------------------------------------------------
_database_url = required("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/learning_loop")
_db = dj_database_url.parse(_database_url, conn_max_age=int(env("DB_CONN_MAX_AGE", "0") or 0))
# django-tenants' backend, without its repeated SET search_path (learning.tenancy's).
_db["ENGINE"] = "learning.tenancy.postgresql_backend"
# A psycopg pool per process (docs/deploy.md); none in tests, which drop their databases.
_pool_size = int(env("DB_POOL_MAX_SIZE", "0" if TESTING else "4") or 0)
if _pool_size:
    _db["CONN_MAX_AGE"] = 0
    _db.setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": _pool_size,
        # How long a request waits for a connection (all busy, or PostgreSQL out of reach)
        # before it fails with a 503 the client may retry.
        "timeout": float(env("DB_POOL_TIMEOUT", "10") or 10),
    }
# Prepared statements for the statements bound on the server (learning.tenancy.db's binary
# cursor), off by default: their generic plans ignore the arrays' sizes (docs/deploy.md).
# "off" is a threshold never reached, not psycopg's None: None would also ignore the
# `prepare=True` of the few hot statements that ask for it (outcomes.ingest, calibration).
_prepare = env("DB_PREPARE_THRESHOLD", "off") or "off"
_db.setdefault("OPTIONS", {})["prepare_threshold"] = 2**31 if _prepare == "off" else int(_prepare)
_db.setdefault("TEST", {})
if env("TEST_DATABASE_NAME"):
    _db["TEST"]["NAME"] = env("TEST_DATABASE_NAME")
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
if TESTING:  # the suite creates users by the hundred; real hashing stays for everything else
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# --- Redis: broker, cache, channel layer ------------------------------------------------
REDIS_URL = required("REDIS_URL", "redis://127.0.0.1:6379/0")
# Everything written to Redis carries it: deployments (or tests) can share one Redis.
REDIS_PREFIX = env("LL_REDIS_PREFIX", f"lltest{os.getpid()}" if TESTING else "ll") or "ll"

CACHES = {
    "default": {
        "BACKEND": "learning.redis_cache.SharedRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": f"{REDIS_PREFIX}:cache",
        # Cache keys are always built by learning.tenancy.cache.tenant_key(), which adds the
        # tenant schema: no cache entry is ever shared between tenants.
    }
}

# redis-py's 5 s read timeout equals an idle consumer's 5 s BZPOPMIN: raised, or sockets drop.
CHANNEL_HOST = {"address": REDIS_URL, "socket_timeout": 30, "socket_connect_timeout": 5}
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [CHANNEL_HOST], "prefix": f"{REDIS_PREFIX}:asgi"},
    }
}

# --- Celery -----------------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_RESULT_EXPIRES = 3600
# A queue per workload, so each can get its own workers (docs/deploy.md): sweeps and
# recalibration (steady, database-heavy), reports and batch analysis (bursty, slow), and
# the rest (fan-out, housekeeping). Ingest has no queue: the API stores it synchronously.
QUEUES = queue_names(REDIS_PREFIX)
CELERY_TASK_DEFAULT_QUEUE = QUEUES["default"]
CELERY_TASK_ROUTES = {
    "outcomes.sweep": {"queue": QUEUES["sweeps"]},
    "calibration.recalibrate": {"queue": QUEUES["sweeps"]},
    "insights.refresh_rollups": {"queue": QUEUES["sweeps"]},
    "insights.evaluate_alerts": {"queue": QUEUES["reports"]},
    "insights.send_reports": {"queue": QUEUES["reports"]},
    "coaching.*": {"queue": QUEUES["reports"]},
}
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "global_keyprefix": f"{REDIS_PREFIX}:celery:",
    # A task whose worker died unacknowledged is redelivered after this many seconds; it
    # must exceed the longest countdown a task is sent with (fan-out jitter, 15 min).
    "visibility_timeout": int(env("CELERY_VISIBILITY_TIMEOUT", "3600") or 3600),
}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"global_keyprefix": f"{REDIS_PREFIX}:celery:"}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_TENANT_CACHE_SECONDS = 60
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # keep the structured logging configured below

# --- Auth and sessions ------------------------------------------------------------------
# Flash messages live in the session, which is per tenant (the default cookie storage
# would use one cookie for every tenant on the host).
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "landing"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_AGE = int(env("SESSION_COOKIE_AGE", str(60 * 60 * 12)) or 43200)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
if DEBUG or TESTING:
    # Fast hashing where no real password is at stake (dev data and tests).
    PASSWORD_HASHERS = (
        ["django.contrib.auth.hashers.MD5PasswordHasher"]
        if TESTING
        else ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    )

X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# HTTPS: behind a proxy that terminates TLS, say so (SECURE_PROXY_SSL_HEADER), and browsers
# are told to keep to HTTPS (HSTS, sent on secure responses only).
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = int(env("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000") or 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
# Content-Security-Policy (django-csp): nothing but this origin's own files; no inline
# script anywhere (the API docs pages, which ship inline script, are exempted in
# config/urls_api.py); inline style attributes only (the Django admin uses them).
# The port websockets are served on when it is not the pages' own (make run's); unset, the
# pages open their websocket on their own host and port (docs/deploy.md, The web process).
WEBSOCKET_PORT = int(env("WEBSOCKET_PORT", "0") or 0) or None
# The port the pages are served on when websockets have a port of their own (make run's
# PORT): a socket on WEBSOCKET_PORT opens only for a page of this port.
WEB_PORT = int(env("PORT", "8000") or 8000)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "connect-src": [
            "'self'",
            # websockets on a port of their own (make run): any host name of this server
            *([f"ws://*:{WEBSOCKET_PORT}", f"wss://*:{WEBSOCKET_PORT}"] if WEBSOCKET_PORT else []),
        ],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
# Failed sign-ins allowed per (tenant, username, client address) and per (tenant, client
# address), and wrong bearer tokens per (tenant, client address), before 429s
# (learning.lockout; django-ratelimit's windows, in the cache).
LOGIN_RATE = env("LOGIN_RATE", "10/15m") or "10/15m"
LOGIN_ADDRESS_RATE = env("LOGIN_ADDRESS_RATE", "50/15m") or "50/15m"
BAD_TOKEN_RATE = env("BAD_TOKEN_RATE", "30/m") or "30/m"
RATELIMIT_USE_CACHE = "default"
RATELIMIT_FAIL_OPEN = True  # the cache down: nothing limited rather than nobody let in
# Exports streaming at once per user and per tenant (0: no limit); one more gets a 429 with
# Retry-After. Each holds a web worker for as long as its client reads (insights.streaming).
EXPORTS_PER_USER = int(env("EXPORTS_PER_USER", "2") or 0)
EXPORTS_PER_TENANT = int(env("EXPORTS_PER_TENANT", "4") or 0)
# The proxies whose X-Forwarded-For is believed (docs/deploy.md, Security); empty: the
# peer's address is the client's, whatever headers say.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", [])
try:
    TRUSTED_PROXY_NETWORKS = tuple(
        ipaddress.ip_network(entry, strict=False) for entry in TRUSTED_PROXIES
    )
except ValueError as _error:
    raise ImproperlyConfigured(f"TRUSTED_PROXIES: {_error}") from None
# django-structlog would log the leftmost X-Forwarded-For address as the client's; the
# request log binds learning.lockout.client_address instead (learning/apps.py).
DJANGO_STRUCTLOG_IP_LOGGING_ENABLED = False
# django-ratelimit lists the cache backends it knows; Django's own RedisCache has the
# atomic add/incr it needs.
SILENCED_SYSTEM_CHECKS = ["django_ratelimit.W001"]

# --- REST API -------------------------------------------------------------------------
REST_FRAMEWORK = {
    # JSON only: a form-encoded body cannot say null or a number, and is no API of ours.
    "DEFAULT_PARSER_CLASSES": ["learning.api_http.BoundedJSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "learning.authentication.BearerAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Closed by default: a view that names no permission_classes refuses everyone.
    "DEFAULT_PERMISSION_CLASSES": ["learning.permissions.DenyUndeclared"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "learning.api_fields.StrictLimitOffsetPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "learning.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Learning Loop API",
    "DESCRIPTION": (
        "The agent posts actions and signals and reads back its calibrated policy; humans "
        "label outcomes and give feedback. Authenticate with `Authorization: Bearer <token>` "
        "(an agent key or a personal token). Paths are relative to the tenant's API root."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # One name for a choice set used by several fields (a message's to_role and from_role).
    "ENUM_NAME_OVERRIDES": {"ThreadRoleEnum": ["prospect", "rep", "manager"]},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "learning.api_schema.add_error_responses",
        "learning.api_schema.unicode_word_patterns",
    ],
}

# Bulk ingest sends up to 10,000 outcomes in one body.
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    # Installed by `make install` from package-lock.json (npm ci); served by the app.
    ("vendor/chartjs", BASE_DIR / "node_modules" / "chart.js" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG

# --- Integrations ----------------------------------------------------------------------------
# The Slack app's signing secret (<tenant>/integrations/slack/); unset: every request refused.
SLACK_SIGNING_SECRET = env("SLACK_SIGNING_SECRET", "") or ""
# Slack's Web API (prompts.slack); tests and local trials point it at tests/slack_server.py.
SLACK_API_URL = env("SLACK_API_URL", "https://slack.com/api/") or "https://slack.com/api/"
if not SLACK_API_URL.endswith("/"):
    SLACK_API_URL += "/"
# Where a button click's response_url may lead (besides SLACK_API_URL's own host).
SLACK_RESPONSE_HOSTS = ("hooks.slack.com",)
# Email prompts wait this long for others to join them (one message for several).
LL_PROMPT_EMAIL_GATHER_SECONDS = int(env("LL_PROMPT_EMAIL_GATHER_SECONDS", "120") or 0)
# Batch learning's optional summariser: a dotted path to f(kind, title, evidence) -> str.
LL_PROPOSAL_SUMMARISER = env("LL_PROPOSAL_SUMMARISER", "") or ""

# --- Email ------------------------------------------------------------------------------
# Development default: one line per message on the console, the message in .data/mail/
# (readable by its owner only). With DEBUG off an unset backend sends and writes nothing:
# each message is a warning in the log, and `manage.py check` warns (config.mail).
EMAIL_BACKEND = env(
    "EMAIL_BACKEND",
    "config.mail.OneLineConsoleBackend" if DEBUG else "config.mail.UnconfiguredBackend",
)
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = int(env("EMAIL_PORT", "25") or 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", str(DATA_DIR / "mail"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Learning Loop <noreply@learningloop.local>")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Metrics and error tracking (config/metrics.py, config/error_tracking.py) ---------------
# /metrics answers a scraper that sends `Authorization: Bearer <METRICS_TOKEN>`; unset: 404.
METRICS_TOKEN = env("METRICS_TOKEN", "") or ""
PROMETHEUS_EXPORT_MIGRATIONS = False  # django-prometheus would query at every start
# Errors reported to Sentry only when SENTRY_DSN is set; prospects' words are scrubbed.
SENTRY_DSN = env("SENTRY_DSN")
_SENTRY_ENVIRONMENT = env("SENTRY_ENVIRONMENT", "development" if DEBUG else "production")
if not TESTING:  # the suite starts its own, against a local catcher
    from config import error_tracking

    error_tracking.setup(
        dsn=SENTRY_DSN,
        environment=_SENTRY_ENVIRONMENT or "production",
        release=env("SENTRY_RELEASE"),
        traces_sample_rate=float(env("SENTRY_TRACES_SAMPLE_RATE", "0") or 0),
    )

# --- Logging: structured, JSON lines in production, readable lines in development -------
LOG_FORMAT = env("LOG_FORMAT", "console" if DEBUG else "json")
LOG_LEVEL = env("LOG_LEVEL", "INFO")
LOGGING = logging_config(
    json=LOG_FORMAT == "json",
    level=LOG_LEVEL,
    # One line per request start and finish: on in production, quiet in development.
    request_level=env("REQUEST_LOG_LEVEL", "WARNING" if DEBUG else "INFO"),
)
configure_structlog()
DJANGO_STRUCTLOG_CELERY_ENABLED = True
