"""Settings, read from the environment.

With nothing set the suite runs on the embedded default: a SQLite file under ``var/`` and Celery
tasks executed inline. ``DATABASE_URL`` selects PostgreSQL (or another SQLite file),
``REDIS_URL``/``CELERY_BROKER_URL`` a real broker. ``SAM_ENV=production`` turns on the production
checks: it refuses to start without a real secret key and allowed hosts.
"""
from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("SAM_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


PRODUCTION = os.environ.get("SAM_ENV", "development").lower() == "production"
# Off unless set explicitly (``make run`` sets DEBUG=1 for local development).
DEBUG = env_bool("DEBUG", False)
_INSECURE_KEY = "django-insecure-development-key-do-not-use-in-production"
SECRET_KEY = os.environ.get("SECRET_KEY", "" if PRODUCTION else _INSECURE_KEY)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if PRODUCTION else "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

if PRODUCTION:
    if DEBUG:
        raise ImproperlyConfigured("SAM_ENV=production refuses DEBUG=true.")
    if not SECRET_KEY or SECRET_KEY == _INSECURE_KEY or len(SECRET_KEY) < 32:
        raise ImproperlyConfigured("SAM_ENV=production needs SECRET_KEY set to 32 or more random characters.")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("SAM_ENV=production needs ALLOWED_HOSTS (comma-separated).")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    SESSION_COOKIE_HTTPONLY = True
    SECURE_REFERRER_POLICY = "same-origin"
    # The __Host- prefix binds the cookies to this host over HTTPS (no Domain, Path=/, Secure).
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"

# Cookies and sessions (every mode): the session cookie is never readable by scripts, neither
# cookie is sent on cross-site sub-requests, and the CSRF token travels in the page (hx-headers),
# so its cookie needs no script access either.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
# A session ends after SAM_SESSION_IDLE_MINUTES without a request (sam/sessions.py) and in any
# case SAM_SESSION_MAX_HOURS after log-in.
SAM_SESSION_IDLE_SECONDS = int(os.environ.get("SAM_SESSION_IDLE_MINUTES", "30")) * 60
SESSION_COOKIE_AGE = int(os.environ.get("SAM_SESSION_MAX_HOURS", "12")) * 3600
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

# Content security policy (django-csp): scripts and styles from this site only; the few inline
# <script>/<style> blocks carry the per-response nonce ({{ request.csp_nonce }}). Inline event
# handlers are not allowed (static/sam/app.js reads data-confirm / data-autosubmit instead).
# Style *attributes* stay allowed (style-src-attr): they cannot run code.
from csp.constants import NONCE, NONE, SELF  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_filters",
    "django_tables2",
    "template_partials",
    "csp",
    "axes",
    "sam",
    "catalog",
    "inventory",
    "entitlements",
    "receiving",
    "requirements_engine",
]

MIDDLEWARE = [
    "sam.health.HealthCheckMiddleware",  # /healthz: before the host check and the HTTPS redirect
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "sam.sessions.IdleSessionTimeoutMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
    "sam.tenancy.TenantMiddleware",
]

ROOT_URLCONF = "sam.urls"
WSGI_APPLICATION = "sam.wsgi.application"

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
                "sam.context_processors.shell",
            ],
        },
    }
]

_default_db = f"sqlite:///{VAR_DIR / 'sam.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(os.environ.get("DATABASE_URL") or _default_db, conn_max_age=60,
                                              conn_health_checks=True)}
# conn_health_checks: a persistent connection that died with a database restart is replaced at the
# next request instead of failing it (tests/faults/test_postgres_restart.py).
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # WAL lets the web process read while a recompute writes.
    DATABASES["default"].setdefault("OPTIONS", {})["init_command"] = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    DATABASES["default"]["OPTIONS"]["timeout"] = 30
    # A file (not :memory:) so a real Celery worker process can share the test database
    # (tests/test_worker.py). The process id keeps concurrent test runs in one checkout apart;
    # pytest-xdist suffixes it per worker, and the test run deletes it at the end.
    (VAR_DIR / "test").mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test" / f"sam-{os.getpid()}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "sam.passwords.RepeatedPatternValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Log-in throttling (docs/operations.md, "Log-in throttling"): axes locks a user name from one client
# address after AXES_FAILURE_LIMIT failures, so others cannot lock a user out from elsewhere;
# sam.throttle refuses an address that failed SAM_LOGIN_IP_FAILURE_LIMIT times across user names
# (password spraying). Behind a reverse proxy, SAM_TRUSTED_PROXY_COUNT makes both key on the client's
# address from X-Forwarded-For instead of the proxy's.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["ip_address", "username"]]
SAM_LOGIN_IP_FAILURE_LIMIT = int(os.environ.get("SAM_LOGIN_IP_FAILURE_LIMIT", "30"))
_PROXIES = int(os.environ.get("SAM_TRUSTED_PROXY_COUNT", "0"))
if _PROXIES:
    AXES_IPWARE_PROXY_COUNT = _PROXIES
    AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]
# API tokens expire this many days after creation (shown on the token page).
SAM_API_TOKEN_DAYS = int(os.environ.get("SAM_API_TOKEN_DAYS", "365"))
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

LANGUAGE_CODE = "en"
# ISO dates everywhere (sam/formats/en/formats.py), not Django's "Feb. 14, 2027".
FORMAT_MODULE_PATH = ["sam.formats"]
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
# Outside production the static files are served from the source folders (no collectstatic needed).
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
SAM_MAX_UPLOAD_BYTES = int(os.environ.get("SAM_MAX_UPLOAD_BYTES", str(200 * 1024 * 1024)))

# Celery: inline unless a broker is configured.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or os.environ.get("REDIS_URL") or ""
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or os.environ.get("REDIS_URL") or None
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A broker that is down must not hold a request for long: the change events stay in the outbox.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}
CELERY_BEAT_SCHEDULE = {
    # Changes recorded while the broker or the worker was down: the next minute applies them.
    "drain-pending-changes": {"task": "requirements_engine.tasks.drain_pending_changes", "schedule": 60},
    "daily-balance-snapshots": {"task": "requirements_engine.tasks.snapshot_all_tenants", "schedule": 24 * 3600},
    "daily-renewal-digest": {"task": "entitlements.tasks.renewal_digest", "schedule": 24 * 3600},
    "daily-entitlement-revalidation": {"task": "entitlements.tasks.revalidate_all", "schedule": 24 * 3600},
    "sweep-stale-jobs": {"task": "sam.tasks.sweep_stale_jobs", "schedule": 5 * 60},
}
# A running job without a heartbeat for this long belongs to a dead worker (sam.jobs.job_sweep_stale).
SAM_JOB_STALE_MINUTES = float(os.environ.get("SAM_JOB_STALE_MINUTES", "30"))
# A task a killed worker had taken (acks_late) goes back to the queue after this many seconds.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": int(os.environ.get("SAM_TASK_VISIBILITY_TIMEOUT", "3600"))}
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "memory://"

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if os.environ.get("REDIS_URL"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": os.environ["REDIS_URL"]}}

MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
DJANGO_TABLES2_TEMPLATE = "sam/table.html"

# Logs go to stderr; SAM_LOG_FORMAT=json writes one JSON object per line (time, level, logger,
# message, request id fields if any) for a log collector. See docs/operations.md.
LOG_FORMAT = os.environ.get("SAM_LOG_FORMAT", "text").lower()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "sam.logging.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json" if LOG_FORMAT == "json" else "text"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
