"""Gatehouse settings: everything that differs between machines comes from the environment.

See the README's "Configuration" table for every variable. Unknown values fail at start-up.
"""

from __future__ import annotations

import datetime as dt

import dj_database_url
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

from portal.core.env import env_bool, env_int, env_list, env_str
from portal.core.rolemap import parse_role_map

# Storage, uploads, inspection limits and the worker cache (every GATEHOUSE_* file setting).
from portal.settings_files import *  # noqa: E402, F403
from portal.settings_files import BASE_DIR, DEFAULT_STORAGE, VAR_DIR  # noqa: E402

DEBUG = env_bool("DEBUG", default=False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (or set SECRET_KEY_FILE).")
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"  # noqa: S105 (DEBUG only)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "axes",
    "portal",
    "fleet",
    "transfers",
    "registry",
    "approvals",
    "imports",
]

MIDDLEWARE = [
    # First: health checks answer before host validation, HTTPS redirects and sessions.
    "portal.ops.health.HealthMiddleware",
    "portal.ops.metrics.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "portal.core.request_context.RequestContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last: it answers a locked-out sign-in
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"

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
                "portal.web.context_processors.navigation",
            ],
        },
    },
]

FORM_RENDERER = "portal.core.forms.FormRenderer"  # Django's, with selects and ticks written in Python (faster)

# --- Database: SQLite in WAL mode unless DATABASE_URL names another engine -------------------------------
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    # Connections are kept for a minute and not pinged before each request (Django's default): the ping is a
    # round trip on every request, a third of a small API read's time (bench/README.md). A connection broken
    # by a database restart fails the request that finds it and is then replaced.
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=False)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("GATEHOUSE_SQLITE_PATH", str(VAR_DIR / "gatehouse.sqlite3")),
            # A file, not memory, so that a worker process started by the tests sees the test database.
            "TEST": {"NAME": str(VAR_DIR / "test-gatehouse.sqlite3")},
            "OPTIONS": {
                # IMMEDIATE takes the write lock at BEGIN, so two writers queue instead of failing
                # with "database is locked" when a read transaction tries to upgrade.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Each process keeps its own cache (the dashboard's figures until their inputs change, portal.dashboard.board):
# nothing shared needs invalidating across processes, and a worker recomputes at most once per change.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "OPTIONS": {"MAX_ENTRIES": 500}}}

# --- Celery: Redis when REDIS_URL is set, else the filesystem transport in var/broker ----------------------
REDIS_URL = env_str("REDIS_URL")
BROKER_DIR = VAR_DIR / "broker"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # Longer than any job's hard time limit, so a slow job is never handed to a second worker.
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {"visibility_timeout": 4 * 3600}
else:
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = None  # pages read Job rows, never Celery's result backend
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "cpu"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULER = "portal.core.beat.ExclusiveScheduler"  # a second beat refuses to start
CELERY_BEAT_SCHEDULE = {
    # Re-send jobs the broker never got; fail jobs whose worker vanished (registry.services.jobs.reap_stale_jobs).
    "jobs-reap": {"task": "registry.jobs_reap", "schedule": 30.0},
    # Today's debt snapshot (and any day missed) every five minutes: the dashboard reads it; the last one of
    # a day stands as that day's history.
    "debt-snapshot": {"task": "portal.debt_snapshot", "schedule": 300.0, "options": {"expires": 240}},
    # Webhook deliveries left pending (the broker was down when they were queued) are sent again.
    "webhooks-resend": {"task": "approvals.webhooks_resend", "schedule": 60.0, "options": {"expires": 50}},
    # Production versions whose validation is older than their tier's interval are validated again.
    "revalidations": {"task": "registry.revalidations_start", "schedule": 6 * 3600.0, "options": {"expires": 3600}},
    # Resumable uploads untouched past GATEHOUSE_RESUMABLE_EXPIRE_H are removed, with their bytes.
    "uploads-sweep": {"task": "transfers.uploads_sweep", "schedule": 3600.0, "options": {"expires": 3000}},
    # Every stored artifact re-hashed against its digest once a week; a mismatch is reported to IT.
    "artifacts-scrub": {"task": "registry.artifacts_scrub", "schedule": 7 * 24 * 3600.0, "options": {"expires": 3600}},
    # MLflow sources with sync enabled: a run each, importing the versions no earlier run brought in (imports).
    "mlflow-sync": {
        "task": "imports.sources_sync",
        "schedule": 60.0 * env_int("GATEHOUSE_IMPORT_SYNC_MINUTES", 15, minimum=1),
        "options": {"expires": 300},
    },
    # A signed checkpoint of the audit chain (also at every release); skipped when nothing was recorded since.
    "audit-checkpoint": {
        "task": "portal.audit_checkpoint",
        "schedule": 60.0 * env_int("GATEHOUSE_AUDIT_CHECKPOINT_MINUTES", 60, minimum=1),
        "options": {"expires": 600},
    },
}

# --- Jobs ------------------------------------------------------------------------------------------------
GATEHOUSE_VALIDATION_TIME_LIMIT_S = env_int("GATEHOUSE_VALIDATION_TIME_LIMIT_S", 3600, minimum=10)
GATEHOUSE_BENCHMARK_TIME_LIMIT_S = env_int("GATEHOUSE_BENCHMARK_TIME_LIMIT_S", 1800, minimum=10)
GATEHOUSE_JOB_HEARTBEAT_S = env_int("GATEHOUSE_JOB_HEARTBEAT_S", 5, minimum=1)
# A running job whose heartbeat is older than this is failed with the reason (its worker was lost).
GATEHOUSE_JOB_STALE_AFTER_S = env_int("GATEHOUSE_JOB_STALE_AFTER_S", 60, minimum=5)
# A queued job that no worker picked up after this long is sent to the broker again.
GATEHOUSE_JOB_REDISPATCH_AFTER_S = env_int("GATEHOUSE_JOB_REDISPATCH_AFTER_S", 120, minimum=5)
GATEHOUSE_JOB_MAX_ATTEMPTS = env_int("GATEHOUSE_JOB_MAX_ATTEMPTS", 2, minimum=1)
# Every worker reports itself this often (fleet.worker); one silent for longer than the threshold is offline.
GATEHOUSE_WORKER_HEARTBEAT_S = env_int("GATEHOUSE_WORKER_HEARTBEAT_S", 5, minimum=1)
GATEHOUSE_WORKER_OFFLINE_AFTER_S = env_int("GATEHOUSE_WORKER_OFFLINE_AFTER_S", 30, minimum=2)
# Memory a job's run may map beyond what the worker holds already (CPU runs; an allocation past it fails the
# job, not the worker), and what one inference's inputs and outputs may take by the model's signature (a
# benchmark asking for more is refused before it is queued).
GATEHOUSE_JOB_MEMORY_MB = env_int("GATEHOUSE_JOB_MEMORY_MB", 4096, minimum=256)
GATEHOUSE_BENCHMARK_MAX_TENSOR_MB = env_int("GATEHOUSE_BENCHMARK_MAX_TENSOR_MB", 1024, minimum=1)

STORAGES = {
    "default": DEFAULT_STORAGE,
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage",
    },
}

# --- Static files ----------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Serve from the app folders too, so `make run` needs no collectstatic; deployments still collect.
WHITENOISE_USE_FINDERS = True

# --- Auth -----------------------------------------------------------------------------------------------
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", default=False)

# Single sign-on by OpenID Connect: off unless OIDC_RP_CLIENT_ID is set (portal.core.oidc).
OIDC_RP_CLIENT_ID = env_str("OIDC_RP_CLIENT_ID")
OIDC_ENABLED = bool(OIDC_RP_CLIENT_ID)
# django-axes first: a sign-in from an address, or to an account, that failed too often is refused before any
# password is checked (the lock and its counts live in the database, so every web worker sees them).
AUTHENTICATION_BACKENDS = ["portal.core.backends.SignInThrottle", "portal.core.backends.GatehouseModelBackend"]
# Signed attestations and audit checkpoints (portal/core/keys.py): a PEM private key, Ed25519 or ECDSA P-256
# (GATEHOUSE_SIGNING_KEY_FILE for a mounted secret); unset, one is generated in $GATEHOUSE_VAR_DIR/keys/.
# Retired public keys (PEM, several in one value) stay published so that what they signed still verifies.
GATEHOUSE_SIGNING_KEY = env_str("GATEHOUSE_SIGNING_KEY")
GATEHOUSE_SIGNING_KEYS_RETIRED = env_str("GATEHOUSE_SIGNING_KEYS_RETIRED")
# Models signed with OpenSSF model signing: a folder of trusted signers' PEM public keys, one file per signer
# named after them (registry/signatures.py), and the largest signature bundle accepted.
GATEHOUSE_MODEL_SIGNING_KEYS_DIR = env_str("GATEHOUSE_MODEL_SIGNING_KEYS_DIR")
GATEHOUSE_MODEL_SIGNATURE_MAX_KB = env_int("GATEHOUSE_MODEL_SIGNATURE_MAX_KB", 1024, minimum=1)
# The longest description, comment or resolution a finding takes (approvals.services.findings).
GATEHOUSE_FINDING_TEXT_MAX_CHARS = env_int("GATEHOUSE_FINDING_TEXT_MAX_CHARS", 10_000, minimum=200)
# Imports from MLflow (imports/, README "Moving from MLflow"): the credentials of the tracking server (a token,
# or a user and password; each also as *_FILE), never stored in a row; the account imported versions are
# created by; and the limits, each named in its refusal.
GATEHOUSE_MLFLOW_TOKEN = env_str("GATEHOUSE_MLFLOW_TOKEN")
GATEHOUSE_MLFLOW_USERNAME = env_str("GATEHOUSE_MLFLOW_USERNAME")
GATEHOUSE_MLFLOW_PASSWORD = env_str("GATEHOUSE_MLFLOW_PASSWORD")
GATEHOUSE_IMPORT_USER = env_str("GATEHOUSE_IMPORT_USER", "mlflow-import")
GATEHOUSE_IMPORT_HTTP_TIMEOUT_S = env_int("GATEHOUSE_IMPORT_HTTP_TIMEOUT_S", 30, minimum=1)
GATEHOUSE_IMPORT_MAX_MODELS = env_int("GATEHOUSE_IMPORT_MAX_MODELS", 1000, minimum=1)
GATEHOUSE_IMPORT_MAX_ARTIFACT_MB = env_int("GATEHOUSE_IMPORT_MAX_ARTIFACT_MB", 4096, minimum=1)
# The compliance pack lists at most this many rows of each history (jobs, observations, audit events) and
# says how many it left out; the PDF renders in bounded time whatever the version's history.
GATEHOUSE_PACK_MAX_ROWS = env_int("GATEHOUSE_PACK_MAX_ROWS", 50, minimum=5)
# How long a web process keeps an API token's row (its user, permissions and teams) before reading it again;
# any change to a token, user, role or team drops it everywhere at once (portal.core.authentication). 0: off.
GATEHOUSE_API_TOKEN_CACHE_S = env_int("GATEHOUSE_API_TOKEN_CACHE_S", 10, minimum=0)
AXES_FAILURE_LIMIT = env_int("GATEHOUSE_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env_int("GATEHOUSE_LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # an account from anywhere, or an address on any account
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "portal.core.request_context.client_ip"  # behind GATEHOUSE_TRUSTED_PROXIES, as the log
AXES_VERBOSE = False
OIDC_GROUPS_CLAIM = env_str("OIDC_GROUPS_CLAIM", "groups")
OIDC_REQUIRE_VERIFIED_EMAIL = env_bool("OIDC_REQUIRE_VERIFIED_EMAIL", default=True)
try:
    OIDC_ROLE_MAP = parse_role_map(env_str("OIDC_ROLE_MAP", ""))
except ValueError as exc:
    raise ImproperlyConfigured(str(exc)) from None
if OIDC_ENABLED:
    INSTALLED_APPS.append("mozilla_django_oidc")
    AUTHENTICATION_BACKENDS = [*AUTHENTICATION_BACKENDS, "portal.core.oidc.GatehouseOIDCBackend"]
    for _name in (
        "OIDC_RP_CLIENT_SECRET",
        "OIDC_OP_AUTHORIZATION_ENDPOINT",
        "OIDC_OP_TOKEN_ENDPOINT",
        "OIDC_OP_USER_ENDPOINT",
        "OIDC_OP_JWKS_ENDPOINT",
    ):
        if not env_str(_name):
            raise ImproperlyConfigured(f"{_name} must be set when OIDC_RP_CLIENT_ID is set (single sign-on).")
        globals()[_name] = env_str(_name)
    # Roles follow the provider: the session is re-checked with it every 15 minutes (GET requests).
    MIDDLEWARE.append("mozilla_django_oidc.middleware.SessionRefresh")
    OIDC_RENEW_ID_TOKEN_EXPIRY_SECONDS = env_int("OIDC_RENEW_ID_TOKEN_EXPIRY_SECONDS", 900, minimum=60)
    OIDC_RP_SIGN_ALGO = env_str("OIDC_RP_SIGN_ALGO", "RS256")
    OIDC_RP_SCOPES = env_str("OIDC_RP_SCOPES", "openid email profile")
    LOGIN_REDIRECT_URL_FAILURE = "/accounts/login/?sso=failed"

# --- HTTPS and browser security (production values in .env.example; `check --deploy` is clean with them) --
if env_bool("SECURE_PROXY_SSL_HEADER", default=False):  # behind a proxy that sets X-Forwarded-Proto
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=False)
SECURE_REDIRECT_EXEMPT = [r"^metrics$"]  # scraped over the internal network
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content Security Policy (django-csp): scripts only from this site (none inline), styles from this site
# (plotly sets inline styles), no plugins, no framing.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
# When set, /metrics needs "Authorization: Bearer <token>", and /readyz shows error details only with it.
GATEHOUSE_METRICS_TOKEN = env_str("GATEHOUSE_METRICS_TOKEN")
# How many reverse proxies in front append to X-Forwarded-For: the audit log records the client's address.
GATEHOUSE_TRUSTED_PROXIES = env_int("GATEHOUSE_TRUSTED_PROXIES", 0, minimum=0)

# English only: without the translation machinery a page takes 1-12 ms less CPU, mostly 3-6 (bench/README.md §9).
LANGUAGE_CODE, TIME_ZONE, USE_I18N = "en-us", env_str("TIME_ZONE", "UTC"), False
USE_TZ = True

# --- API -----------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portal.core.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["portal.core.api.JSONRenderer", "rest_framework.renderers.BrowsableAPIRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "portal.core.api.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "portal.core.api.Pagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "portal.core.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Gatehouse API",
    "DESCRIPTION": "Model registry, approvals and evidence. Authenticate with `Authorization: Token <key>`.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # One name per choice set, so generated clients get readable enums.
    "ENUM_NAME_OVERRIDES": {
        "StageEnum": "registry.choices.Stage",
        "ArtifactFormatEnum": "registry.choices.ArtifactFormat",
        "DatasetFormatEnum": "registry.choices.DatasetFormat",
        "JobStatusEnum": "registry.choices.JobStatus",
        "RequestStatusEnum": "approvals.choices.RequestStatus",
        # A finding's severity has the risk tiers' four levels: one enum serves both.
        "RiskTierEnum": "registry.choices.RiskTier",
        "FindingStatusEnum": "approvals.choices.FindingStatus",
        "FindingActionEnum": "approvals.choices.FindingAction",
        "ActionEnum": "approvals.choices.Action",
    },
}

# --- Email, logging -------------------------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "gatehouse@localhost")
# Links in emails point here.
GATEHOUSE_BASE_URL = env_str("GATEHOUSE_BASE_URL", "http://127.0.0.1:8000")

# LOG_FORMAT=json: one JSON object per line (python-json-logger), for log collectors. Both formats carry the
# request id (portal.core.logs), which the response also returns as X-Request-ID.
LOG_FORMAT = env_str("LOG_FORMAT", "text")
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r} must be text or json.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "portal.core.logs.RequestIdFilter"},
        "refusals": {"()": "portal.core.logs.RefusalsWithoutTracebacks"},
    },
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["request_id"], "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "django.request": {"filters": ["refusals"]},
        "axes": {"level": "WARNING"},  # a sign-in per line at INFO; failures and lockouts stay
    },
}
