"""Curation settings: everything comes from environment variables (see ``.env.example``).

Embedded mode (no variables): SQLite in WAL mode, in-memory channel layer, an in-process task
worker started by ``manage.py serve``. Team mode: ``DATABASE_URL`` (PostgreSQL) and ``REDIS_URL``
(channels-redis), web processes plus any number of ``manage.py db_worker`` processes.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from curation.env import (
    channel_layers_config,
    database_config,
    env_bool,
    env_int,
    env_list,
    env_paths,
    local_secret_key,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("CURATION_VAR_DIR", BASE_DIR / "var")).resolve()

DEBUG = env_bool("DEBUG", False)
DATABASE_URL = os.environ.get("DATABASE_URL", "")
REDIS_URL = os.environ.get("REDIS_URL", "")
TEAM_MODE = bool(DATABASE_URL)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY and not TEAM_MODE:
    # Embedded mode: one machine, so a random key generated once into var/ (mode 0600) works.
    SECRET_KEY = local_secret_key(VAR_DIR / "secret_key")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is required when DEBUG is off in team mode (DATABASE_URL is set): set it "
            "to the same long random string for every web and worker process."
        )
    SECRET_KEY = "insecure-development-key-only-used-with-DEBUG-on"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "django_htmx",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # Before django_tasks_db so that our db_worker (with heartbeats) overrides theirs.
    "curation",
    "django_tasks_db",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "curation.web.middleware.RefuseNulMiddleware",  # a NUL in a query or form: 400, not a 500
]

ROOT_URLCONF = "curation.urls"
ASGI_APPLICATION = "curation.asgi.application"
WSGI_APPLICATION = None

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
            ],
        },
    },
]

# PostgreSQL: a bounded connection pool per process (see .env.example). A db_worker runs one
# task at a time, so it needs only a couple of connections.
_DB_WORKER_PROCESS = sys.argv[1:2] == ["db_worker"]
DATABASES = {
    "default": database_config(
        DATABASE_URL,
        VAR_DIR,
        pool_size=env_int("CURATION_DB_WORKER_POOL_SIZE", 2)
        if _DB_WORKER_PROCESS
        else env_int("CURATION_DB_POOL_SIZE", 10),
        pool_timeout=env_int("CURATION_DB_POOL_TIMEOUT", 30),
    )
}
if not DATABASE_URL:
    VAR_DIR.mkdir(parents=True, exist_ok=True)  # the SQLite file lives here
CHANNEL_LAYERS = channel_layers_config(REDIS_URL)

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}
# The embedded default runs the task worker inside ``manage.py serve``; team mode expects
# separate ``manage.py db_worker`` processes.
CURATION_INPROCESS_WORKER = env_bool("CURATION_INPROCESS_WORKER", not TEAM_MODE)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dataset-list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
with contextlib.suppress(OSError):  # WhiteNoise warns on every start while it is missing
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

MEDIA_ROOT = Path(os.environ.get("CURATION_MEDIA_ROOT", VAR_DIR / "media")).resolve()
MEDIA_URL = "/media/"
CURATION_EMBEDDINGS_ROOT = Path(
    os.environ.get("CURATION_EMBEDDINGS_ROOT", VAR_DIR / "embeddings")
).resolve()
CURATION_IMPORT_ROOTS = env_paths("CURATION_IMPORT_ROOTS")
# "" (serve bytes from Django), "x-accel-redirect" (nginx) or "x-sendfile" (Apache, Caddy).
CURATION_SENDFILE = os.environ.get("CURATION_SENDFILE", "").strip().lower()
if CURATION_SENDFILE not in {"", "x-accel-redirect", "x-sendfile"}:
    raise ImproperlyConfigured(
        f"CURATION_SENDFILE={CURATION_SENDFILE!r}: use x-accel-redirect, x-sendfile or leave empty."
    )
# The internal location nginx maps to the file system for X-Accel-Redirect (see the README).
CURATION_SENDFILE_PREFIX = os.environ.get("CURATION_SENDFILE_PREFIX", "/_protected").rstrip("/")
# Sign-in throttling (curation.accounts.services): failed sign-ins per username and per
# client address within the window before further attempts are refused; 0 turns a limit off.
CURATION_LOGIN_MAX_FAILURES = env_int("CURATION_LOGIN_MAX_FAILURES", 5)
CURATION_LOGIN_MAX_FAILURES_PER_ADDRESS = env_int("CURATION_LOGIN_MAX_FAILURES_PER_ADDRESS", 20)
CURATION_LOGIN_WINDOW_MINUTES = env_int("CURATION_LOGIN_WINDOW_MINUTES", 15)
# Behind a proxy: the header holding the client address (e.g. X-Forwarded-For; its last entry).
CURATION_LOGIN_CLIENT_IP_HEADER = os.environ.get("CURATION_LOGIN_CLIENT_IP_HEADER", "").strip()
CURATION_WORKER_HEARTBEAT_SECONDS = env_int("CURATION_WORKER_HEARTBEAT_SECONDS", 30)
# Facet panels of datasets with at least this many samples are counted on an in-memory column
# index (curation.browse.facet_index; PostgreSQL); smaller datasets are counted in SQL.
CURATION_FACET_INDEX_MIN_SAMPLES = env_int("CURATION_FACET_INDEX_MIN_SAMPLES", 50_000)
# Build its columns on a background thread (panels answer in SQL meanwhile); off: in the request.
CURATION_FACET_INDEX_BACKGROUND = env_bool("CURATION_FACET_INDEX_BACKGROUND", True)
# Uploads: every file streams to its own closed temporary file (never whole in memory); a body
# over CURATION_MAX_UPLOAD_MB (0 = no limit) is answered 413 before it is read
# (curation.web.upload_limits). Any number of files: the size limit bounds a request.
CURATION_MAX_UPLOAD_MB = env_int("CURATION_MAX_UPLOAD_MB", 2048)
FILE_UPLOAD_HANDLERS = ["curation.storage.upload_handlers.DiskUploadHandler"]
FILE_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024  # request bodies above this spool to disk
DATA_UPLOAD_MAX_NUMBER_FILES = None

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
# Content-Security-Policy on every response: scripts, styles, images and connections (including
# the same-origin websockets) from this site only; no inline scripts, inline styles or eval (the
# templates have none; see static/curation/app.js). The API docs pages widen it for themselves
# (curation/api/views_docs.py).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:", "blob:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
if not DEBUG and env_bool("CURATION_HTTPS", False):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

REST_FRAMEWORK = {
    # Token first: an anonymous API request is answered 401 with ``WWW-Authenticate: Bearer``.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "curation.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON bodies; the upload endpoints take multipart/form-data themselves.
    "DEFAULT_PARSER_CLASSES": ["curation.api.parsers.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_THROTTLE_CLASSES": ["curation.api.throttling.TokenRateThrottle"],
    # Requests per token, e.g. "1000/min", "50/s", "20000/hour" (checked at start-up).
    "DEFAULT_THROTTLE_RATES": {"token": os.environ.get("CURATION_API_THROTTLE", "1000/min")},
    "EXCEPTION_HANDLER": "curation.api.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Curation API",
    "DESCRIPTION": (
        "Datasets, samples, tags, embeddings, presets and Lightly-compatible selection runs. "
        "Authenticate with `Authorization: Bearer <token>` (create tokens under Account → API "
        'tokens) or with the browser session. Errors are `{"detail": "..."}`, plus `path` '
        "for selection-config errors."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "RunStatusEnum": "curation.models.runs.SelectionRun.Status",
        "TagKindEnum": "curation.models.tags.Tag.Kind",
        "VisibilityEnum": "curation.models.presets.StrategyPreset.Visibility",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
