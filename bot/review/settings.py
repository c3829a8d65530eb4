"""Django settings of the review queue.

Everything comes from the environment that `cocci-bot serve` sets up:
COCCI_REVIEW_DATA_DIR (SQLite database and secret key), DATABASE_URL (PostgreSQL
when set), COCCI_REVIEW_SECRET_KEY, COCCI_REVIEW_BASE_URL (the queue's public URL: its host is
the only one allowed and links use its scheme), else COCCI_REVIEW_ALLOWED_HOSTS (the hosts
`serve` listens as); COCCI_REVIEW_TRUSTED_PROXY=1 (only then X-Forwarded-Proto/-For are
believed), COCCI_REVIEW_HTTPS=1 (secure cookies) and COCCI_REVIEW_TRUSTED_ORIGINS.
Importing this module never writes a file: `serve` creates the secret key.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url

from bot import defaults

DATA_DIR = Path(os.environ.get("COCCI_REVIEW_DATA_DIR") or defaults.data_dir() / "review")
SECRET_KEY_FILE = DATA_DIR / "secret_key"


def _secret_key() -> str:
    if os.environ.get("COCCI_REVIEW_SECRET_KEY"):
        return os.environ["COCCI_REVIEW_SECRET_KEY"]
    if SECRET_KEY_FILE.is_file():
        return SECRET_KEY_FILE.read_text().strip()
    return secrets.token_urlsafe(50)  # ephemeral: tests, one-off management commands


def _database() -> dict[str, Any]:
    sqlite_url = f"sqlite:///{DATA_DIR / 'db.sqlite3'}"
    db: dict[str, Any] = dict(dj_database_url.config(default=sqlite_url, conn_max_age=60))
    if db["ENGINE"].endswith("sqlite3"):
        db["CONN_MAX_AGE"] = 0
        db["OPTIONS"] = {
            "timeout": defaults.REVIEW_SQLITE_BUSY_TIMEOUT,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    return db


SECRET_KEY = _secret_key()
DEBUG = os.environ.get("COCCI_REVIEW_DEBUG") == "1"
BASE_URL = os.environ.get("COCCI_REVIEW_BASE_URL", "").rstrip("/")
_base = urlsplit(BASE_URL) if BASE_URL else None
if _base:
    ALLOWED_HOSTS = [_base.hostname or ""]
else:
    ALLOWED_HOSTS = [h for h in os.environ.get("COCCI_REVIEW_ALLOWED_HOSTS",
                                               "localhost,127.0.0.1,[::1]").split(",") if h]
REVIEW_SCHEME = _base.scheme if _base else ""   # links use it (bot.review.middleware)
REVIEW_TRUSTED_PROXY = os.environ.get("COCCI_REVIEW_TRUSTED_PROXY") == "1"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "django_filters",
    "bot.review.apps.ReviewConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "bot.review.middleware.RequestGuardMiddleware",
    "bot.review.middleware.api_vary",
    "bot.review.conditional.ResponseCacheMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "bot.review.urls"
WSGI_APPLICATION = "bot.review.wsgi.application"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [],
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
        "bot.review.web.nav",
    ]},
}]

DATABASES = {"default": _database()}
# "responses": rendered anonymous reads, per worker process (bot.review.conditional)
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "responses": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                  "LOCATION": "cocci-review-responses", "TIMEOUT": None,
                  "OPTIONS": {"MAX_ENTRIES": defaults.REVIEW_CACHE_ENTRIES}},
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"

STATIC_URL = "/static/"
STATIC_ROOT = None  # served from the package by WhiteNoise, no collectstatic
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = False

LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
# HTTPS (a base URL https://..., or COCCI_REVIEW_HTTPS=1): secure cookies; X-Forwarded-Proto
# is believed only from a configured proxy
if os.environ.get("COCCI_REVIEW_HTTPS") == "1" or REVIEW_SCHEME == "https":
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
if REVIEW_TRUSTED_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("COCCI_REVIEW_TRUSTED_ORIGINS", "").split(",")
                        if o] + ([BASE_URL] if _base else [])
SECURE_CONTENT_TYPE_NOSNIFF = True

# the bot's write API checks sizes itself (a message that names the limit); this is the backstop
DATA_UPLOAD_MAX_MEMORY_SIZE = defaults.REVIEW_MAX_POST_BYTES + 1024 * 1024

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "bot.review.auth.TokenAuthentication",
        "bot.review.auth.ThrottledBasicAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "bot.review.pagination.LinkHeaderPagination",
    "PAGE_SIZE": defaults.REVIEW_PAGE_SIZE,
    "DEFAULT_RENDERER_CLASSES": ["bot.review.api.versions.VersionedJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "bot.review.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "bot.review.api_errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "cocci-bot review queue API",
    "DESCRIPTION": "Patchwork REST API 1.2 (read side, patch updates, checks) plus cocci-bot's "
                   "extras: series creation, series checks, per-call-site reports.",
    "VERSION": "1.2",
    "SERVE_INCLUDE_SCHEMA": False,
    "OAS_VERSION": "3.1.0",
    "PREPROCESSING_HOOKS": ["bot.review.openapi.canonical_only"],
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "bot.review.openapi.patchwork_shapes"],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django.request": {"handlers": ["console"], "level": "ERROR"}},
}
