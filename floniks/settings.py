"""Floniks settings, driven entirely by the environment.

With nothing set, Floniks runs on embedded defaults: SQLite, local file
storage and a file-system Celery broker, all under ./var. Production sets
DATABASE_URL (PostgreSQL), CELERY_BROKER_URL (Redis), S3_BUCKET and friends.
"""

from __future__ import annotations

import socket
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

from core.net import trusted_networks
from floniks.env import env_bool, env_int, env_list, env_map, env_pem, env_secret, env_str, env_url, env_url_pools

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("FLONIKS_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)

_secret = env_secret("SECRET_KEY", "")
if not _secret:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    # Development only: a key that openly says it is not a secret.
    _secret = "django-insecure-floniks-development-only-key-do-not-use-in-production"
SECRET_KEY = _secret

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "floniks.apps.FloniksAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.humanize",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_htmx",
    "csp",
    "pgtrigger",
    "core.apps.CoreConfig",  # after rest_framework.authtoken: core/admin.py replaces DRF's token admin
    "templates_app",
    "runs_app",
    "composition",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "floniks.browser_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before anything reads the body (session, CSRF, views); after the header middleware, so its
    # 400 still carries the security headers and the CSP; after WhiteNoise, which reads no body.
    "core.request_bounds.RequestBoundsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "floniks.urls"
WSGI_APPLICATION = "floniks.wsgi.application"

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
                "core.ui.role_context",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------
_database_url = env_secret("DATABASE_URL", "")
if _database_url:
    env_url("DATABASE_URL", schemes={"postgres", "postgresql", "sqlite"})
    DATABASES: dict[str, Any] = {
        "default": dj_database_url.parse(
            _database_url, conn_max_age=env_int("DB_CONN_MAX_AGE", 60, minimum=0), conn_health_checks=True
        )
    }
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "floniks.sqlite3",
            # Worker and web server share the file: wait for locks instead of failing.
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files and storage -----------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "staticfiles")))
if DEBUG:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "media/"

_s3_bucket = env_str("S3_BUCKET", "")
if _s3_bucket:
    _artifact_storage: dict[str, Any] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": _s3_bucket,
            "endpoint_url": env_str("S3_ENDPOINT_URL", "") or None,
            "region_name": env_str("S3_REGION", "") or None,
            "access_key": env_secret("S3_ACCESS_KEY_ID", "") or None,
            "secret_key": env_secret("S3_SECRET_ACCESS_KEY", "") or None,
            "querystring_auth": True,
            "querystring_expire": env_int("S3_URL_EXPIRE_SECONDS", 300, minimum=1),
            "file_overwrite": False,
            "default_acl": None,
        },
    }
else:
    _artifact_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT)},
    }
STORAGES = {
    "default": _artifact_storage,
    "artifacts": _artifact_storage,
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- REST API -----------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header makes DRF answer 401, not 403,
    # to a caller without credentials.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.tokens.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["core.permissions.IsTeamMember"],
    "DEFAULT_PAGINATION_CLASS": "core.api.CursorPage",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "core.schema.ErrorDocumentingSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    # Bounded JSON (depth, NUL characters) for every API body; forms and uploads as DRF ships them.
    # Stored legacy drafts nested hundreds deep are written back whatever the caller's stack depth.
    "DEFAULT_RENDERER_CLASSES": [
        "core.jsonsafe.LegacyDepthJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "core.jsonsafe.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "login": env_str("LOGIN_THROTTLE_RATE", "10/min"),
        # Checking a file's provenance (/verify/ and its API) is open to anyone: bounded per client.
        "verify": env_str("VERIFY_THROTTLE_RATE", "30/min"),
    },
    # Stock DRF throttles never believe X-Forwarded-For; core.net's throttles take the
    # client from core.net.client_ip, which believes it only from TRUSTED_PROXIES.
    "NUM_PROXIES": 0,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Floniks API",
    "DESCRIPTION": "Versioned AI generation workflows, reproducible runs and version records.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Operation ids and tags are named after the path below /api/ (the artifact URLs live outside it).
    "SCHEMA_PATH_PREFIX": "/api/",
    "COMPONENT_SPLIT_REQUEST": True,
    # Docs assets ship inside the sidecar package: no CDN needed at run time.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No badge image from validator.swagger.io: the docs page loads nothing from elsewhere (CSP).
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # Run answers and run list answers share the run status choices: one named enum for both.
    "ENUM_NAME_OVERRIDES": {
        "RunStatusEnum": "runs_app.models.RunStatus",
        "EvidenceStatusEnum": "runs_app.models.EvidenceStatus",
        "BumpEnum": "templates_app.models.Bump",
    },
}

# --- Celery -------------------------------------------------------------------
CELERY_BROKER_URL = env_secret("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {}
if CELERY_BROKER_URL == "filesystem://":
    _broker_dir = VAR_DIR / "broker"
    for sub in ("queue", "processed", "control"):
        (_broker_dir / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "control_folder": str(_broker_dir / "control"),  # not ./control in whatever directory the worker started
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
    }
else:
    env_url("CELERY_BROKER_URL", schemes={"redis", "rediss", "memory"})
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=60)}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
# Limits for tasks that do not set their own (record writes). A step's task carries limits derived
# from the step's own policy (runs_app.dispatch), so these never cut a long step short.
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 240, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300, minimum=2)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery's Django fixup closes the database connection around every task unless told to reuse it,
# and reconnecting costs each run milliseconds. Reuse it: before each task floniks/celery.py lets
# Django's own rules (DB_CONN_MAX_AGE, a health check) decide whether it must go.
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 1000, minimum=0)

# --- Security -------------------------------------------------------------------
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY", False) else None
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# /healthz answers over plain HTTP, so a load balancer can probe the process itself (floniks/health.py);
# each of its checks (database, broker, storage) gives up after this many seconds.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
FLONIKS_HEALTHZ_TIMEOUT_SECONDS = env_int("FLONIKS_HEALTHZ_TIMEOUT_SECONDS", 2, minimum=1)

# Content-Security-Policy (django-csp 4): no inline script or style anywhere, nothing from other origins.
# The pages' behaviour lives in static/floniks/*.js; the API docs page narrows its own (floniks/browser_policy.py).
_img_src = [SELF, "data:", "blob:"]  # blob: is the run form's preview of an image before it is uploaded
if _s3_bucket:
    # /artifacts/<sha256> redirects to a short-lived bucket URL, and an <img> follows it there.
    _endpoint = env_str("S3_ENDPOINT_URL", "")
    if _endpoint:
        _parts = urlsplit(_endpoint)
        _img_src.append(f"{_parts.scheme}://{_parts.netloc}")
    else:
        _img_src.append(f"https://{_s3_bucket}.s3.amazonaws.com")
        if _region := env_str("S3_REGION", ""):
            _img_src.append(f"https://{_s3_bucket}.s3.{_region}.amazonaws.com")
_img_src += env_list("CSP_EXTRA_IMG_SRC", [])  # e.g. a CDN in front of the bucket
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": _img_src,
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}
# Browser features no page uses, switched off for every answer (floniks/browser_policy.py).
PERMISSIONS_POLICY = {
    feature: "()"
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "encrypted-media",
        "geolocation",
        "gyroscope",
        "hid",
        "idle-detection",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "publickey-credentials-get",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
} | {"fullscreen": "(self)"}

# --- Sign-in limits (core/signin.py) ------------------------------------------------
# Failures are counted per account and client, per client and per account; past each allowance every
# further failure doubles the wait, from the first delay up to the longest. Nothing locks an account hard.
FLONIKS_LOGIN_ATTEMPTS = env_int("FLONIKS_LOGIN_ATTEMPTS", 5, minimum=1)
FLONIKS_LOGIN_CLIENT_ATTEMPTS = env_int("FLONIKS_LOGIN_CLIENT_ATTEMPTS", 20, minimum=1)
FLONIKS_LOGIN_ACCOUNT_ATTEMPTS = env_int("FLONIKS_LOGIN_ACCOUNT_ATTEMPTS", 100, minimum=1)
FLONIKS_LOGIN_FIRST_DELAY_SECONDS = env_int("FLONIKS_LOGIN_FIRST_DELAY_SECONDS", 30, minimum=1)
FLONIKS_LOGIN_LOCKOUT_SECONDS = env_int("FLONIKS_LOGIN_LOCKOUT_SECONDS", 900, minimum=FLONIKS_LOGIN_FIRST_DELAY_SECONDS)
FLONIKS_LOGIN_WINDOW_SECONDS = env_int("FLONIKS_LOGIN_WINDOW_SECONDS", 86400, minimum=60)
# The addresses (IPs or CIDRs) of the reverse proxies whose X-Forwarded-For is believed; none by default.
FLONIKS_TRUSTED_PROXIES = trusted_networks("TRUSTED_PROXIES", env_str("TRUSTED_PROXIES", ""))
# API tokens expire this many days after they are issued.
FLONIKS_TOKEN_TTL_DAYS = env_int("FLONIKS_TOKEN_TTL_DAYS", 90, minimum=1)

# Sign-in limits and throttles count in the cache, so it must be one all processes share (Redis).
_cache_url = env_secret("CACHE_URL", "")
if _cache_url:
    env_url("CACHE_URL", schemes={"redis", "rediss", "unix"})
elif not DEBUG:
    raise ImproperlyConfigured(
        "CACHE_URL must be set (redis://…) when DEBUG is off: sign-in limits kept in one process's memory "
        "multiply with every worker and vanish on restart."
    )
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_url}
    if _cache_url
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # httpx logs every request's URL at INFO: a provider's URL may carry credentials, so only warnings.
    "loggers": {"httpx": {"level": "WARNING"}, "httpcore": {"level": "WARNING"}},
}

# --- Generation ------------------------------------------------------------------
# Provider name (ModelFamily.provider) → class implementing runs_app.generators.Provider.
# FLONIKS_EXTRA_PROVIDERS="comfy=myco.providers.ComfyUI,acme=myco.providers.AcmeImages" adds more.
FLONIKS_PROVIDERS = {
    "builtin": "runs_app.generators.builtin.BuiltinProvider",
    "realesrgan": "runs_app.generators.realesrgan.RealEsrganProvider",  # on the CPU, weights in its wheel
    "replicate": "runs_app.generators.replicate.ReplicateProvider",  # hosted: needs REPLICATE_API_TOKEN
    "openai": "runs_app.generators.openai_images.OpenAIImagesProvider",  # hosted: needs OPENAI_API_KEY
    "comfyui": "runs_app.generators.comfyui.ComfyUIProvider",  # self-hosted ComfyUI servers, by pool
}
# ComfyUI pools (DESIGN §8): JSON pool → base URLs, e.g. {"studio": ["http://gpu-1:8188", "http://gpu-2:8188"]}.
# Each pool is the model family comfyui/<pool>, served on the queue comfyui.<pool> (FLONIKS_PROVIDER_QUEUES
# may name another, for the provider "comfyui" or for the family "comfyui/<pool>").
FLONIKS_COMFYUI_POOLS = env_url_pools("FLONIKS_COMFYUI_POOLS")
# Bytes of one output downloaded from a ComfyUI server (its /view), and seconds of one HTTP call to it.
FLONIKS_COMFYUI_MAX_DOWNLOAD_BYTES = env_int("FLONIKS_COMFYUI_MAX_DOWNLOAD_BYTES", 64 * 1024 * 1024, minimum=1024)
FLONIKS_COMFYUI_HTTP_TIMEOUT_SECONDS = env_int("FLONIKS_COMFYUI_HTTP_TIMEOUT_SECONDS", 30, minimum=1)
for _item in env_list("FLONIKS_EXTRA_PROVIDERS", []):
    _name, _sep, _path = _item.partition("=")
    if not _sep or not _name or "." not in _path:
        raise ImproperlyConfigured(f"FLONIKS_EXTRA_PROVIDERS item {_item!r} must look like name=package.module.Class.")
    FLONIKS_PROVIDERS[_name] = _path

# --- Hosted providers (docs/providers.md) --------------------------------------------
# Keys stay in settings and in the worker's memory only: never in a specification, step, record,
# log line or error message. A provider without its key is listed as unavailable and refuses runs.
REPLICATE_API_TOKEN = env_secret("REPLICATE_API_TOKEN", "")
OPENAI_API_KEY = env_secret("OPENAI_API_KEY", "")
# The only hosts Floniks calls on a provider's behalf (plus the output URLs their answers name);
# overridable for a proxy or a test double.
FLONIKS_REPLICATE_API_BASE = env_url(
    "FLONIKS_REPLICATE_API_BASE", "https://api.replicate.com/v1", schemes={"https", "http"}
)
FLONIKS_OPENAI_API_BASE = env_url("FLONIKS_OPENAI_API_BASE", "https://api.openai.com/v1", schemes={"https", "http"})
# Every downloaded output: at most this many bytes, decoded by Pillow under this many pixels before it is stored.
FLONIKS_HOSTED_MAX_DOWNLOAD_BYTES = env_int("FLONIKS_HOSTED_MAX_DOWNLOAD_BYTES", 50 * 1024 * 1024, minimum=1024)
FLONIKS_HOSTED_MAX_PIXELS = env_int("FLONIKS_HOSTED_MAX_PIXELS", 64 * 1024 * 1024, minimum=1)
# Following a prediction: the first poll after this many seconds, then ×1.5 up to the maximum.
FLONIKS_HOSTED_POLL_SECONDS = float(env_str("FLONIKS_HOSTED_POLL_SECONDS", "0.5"))
FLONIKS_HOSTED_POLL_MAX_SECONDS = float(env_str("FLONIKS_HOSTED_POLL_MAX_SECONDS", "5"))
# An import path of a callable returning an httpx transport every hosted client uses (tests, proxies); empty: httpx's own.
FLONIKS_HOSTED_TRANSPORT = env_str("FLONIKS_HOSTED_TRANSPORT", "")

# --- Queues (DESIGN §4) --------------------------------------------------------------
# Each step is a task on its provider's queue. `make run`'s worker (no -Q) listens to every queue
# named here; a GPU or ComfyUI worker is started with `celery -A floniks worker -Q <its queue>`.
FLONIKS_DEFAULT_QUEUE = env_str("FLONIKS_DEFAULT_QUEUE", "floniks")
# provider → queue, e.g. FLONIKS_PROVIDER_QUEUES="comfyui=gpu,openai=hosted"; unnamed ones use the default.
FLONIKS_PROVIDER_QUEUES = env_map("FLONIKS_PROVIDER_QUEUES", {})
# provider → default step timeout in seconds, when a step's policy names none: short for built-in
# generators, long for servers and hosted APIs (a step may take an hour).
FLONIKS_PROVIDER_TIMEOUTS = {
    name: int(value)
    for name, value in env_map(
        "FLONIKS_PROVIDER_TIMEOUTS", {"builtin": "600", "realesrgan": "1800", "replicate": "3600", "openai": "900"}
    ).items()
}
FLONIKS_DEFAULT_STEP_TIMEOUT_SECONDS = env_int("FLONIKS_DEFAULT_STEP_TIMEOUT_SECONDS", 3600, minimum=1)
FLONIKS_DEFAULT_STEP_RETRIES = env_int("FLONIKS_DEFAULT_STEP_RETRIES", 2, minimum=0)
# Back-off between retries of a transient provider error: 1 s, 2 s, 4 s … at most this.
FLONIKS_RETRY_BACKOFF_MAX_SECONDS = env_int("FLONIKS_RETRY_BACKOFF_MAX_SECONDS", 30, minimum=1)
# A running step's progress is written at most this often; a cancel is noticed within this too.
FLONIKS_STEP_WATCH_SECONDS = float(env_str("FLONIKS_STEP_WATCH_SECONDS", "0.5"))
CELERY_TASK_DEFAULT_QUEUE = FLONIKS_DEFAULT_QUEUE
CELERY_TASK_QUEUES = [
    Queue(name, Exchange(name), routing_key=name)
    for name in dict.fromkeys(
        [
            FLONIKS_DEFAULT_QUEUE,
            *FLONIKS_PROVIDER_QUEUES.values(),
            *(
                FLONIKS_PROVIDER_QUEUES.get(
                    f"comfyui/{pool}", FLONIKS_PROVIDER_QUEUES.get("comfyui", f"comfyui.{pool}")
                )
                for pool in FLONIKS_COMFYUI_POOLS
            ),
        ]
    )
]
# On Redis a lower number is served first: steps the sweep re-sends after a worker died go ahead
# of a backlog (priority 0); everything else is sent at the default.
CELERY_TASK_DEFAULT_PRIORITY = 6

# --- ComfyUI environments (DESIGN §8; runs_app/generators/comfyui_env.py) ----------------------------
# How long a page trusts a ComfyUI server's fingerprint (or its silence) before asking it again, and
# the timeout of each request made to ask (a whole fingerprint is bounded by a 20 s deadline too).
FLONIKS_COMFYUI_FINGERPRINT_TTL = env_int("FLONIKS_COMFYUI_FINGERPRINT_TTL", 30, minimum=0)
FLONIKS_COMFYUI_FINGERPRINT_TIMEOUT = float(env_str("FLONIKS_COMFYUI_FINGERPRINT_TIMEOUT", "5"))

# --- Runs -------------------------------------------------------------------------
# A worker renews its lease on a run every third of this; a lease left to expire
# means the worker died and the sweep hands the run to another worker.
FLONIKS_RUN_LEASE_SECONDS = env_int("FLONIKS_RUN_LEASE_SECONDS", 45, minimum=3)
FLONIKS_MAX_STEP_ATTEMPTS = env_int("FLONIKS_MAX_STEP_ATTEMPTS", 4, minimum=1)
FLONIKS_SWEEP_SECONDS = env_int("FLONIKS_SWEEP_SECONDS", 15, minimum=1)
FLONIKS_REQUEUE_AFTER_SECONDS = env_int("FLONIKS_REQUEUE_AFTER_SECONDS", 60, minimum=1)
# --- Bounds on work (issue 11): steps per run, pixels per step, active runs per user ---------
# A run's steps counted with its sub-workflows expanded; checked at publish and at run start.
FLONIKS_MAX_RUN_STEPS = env_int("FLONIKS_MAX_RUN_STEPS", 200, minimum=1)
# Pixels a step may read or write: width × height for images, × frames for `animate`.
FLONIKS_MAX_STEP_PIXELS = env_int("FLONIKS_MAX_STEP_PIXELS", 4096 * 4096, minimum=64 * 64)
FLONIKS_MAX_ANIMATION_PIXELS = env_int("FLONIKS_MAX_ANIMATION_PIXELS", 1024 * 1024 * 32, minimum=64 * 64 * 2)
# Runs queued or running at once per user; one more start answers 429 quota_exceeded.
FLONIKS_MAX_ACTIVE_RUNS_PER_USER = env_int("FLONIKS_MAX_ACTIVE_RUNS_PER_USER", 8, minimum=1)
# An uploaded file's size limit (runs_app.storage reads it); a request's whole body may be this
# plus 1 MiB of form fields. A larger declared Content-Length is refused before it is read.
FLONIKS_MAX_UPLOAD_BYTES = 20 * 1024 * 1024
FLONIKS_MAX_REQUEST_BYTES = env_int(
    "FLONIKS_MAX_REQUEST_BYTES", FLONIKS_MAX_UPLOAD_BYTES + 1024 * 1024, minimum=1024 * 1024
)
# Portable record bundles (runs_app.bundles, docs/bundles.md). This instance's name is written into
# every bundle it exports, and an imported record keeps its origin's name and record id: set it to
# something stable (the site's host name) — the default is this machine's host name.
FLONIKS_INSTANCE_NAME = env_str("FLONIKS_INSTANCE_NAME", "") or socket.gethostname()
# What an imported bundle may hold, checked before a byte is unpacked and again while it is read
# (a member's declared size is never trusted): the bundle file, each member, all members together.
FLONIKS_BUNDLE_MAX_BYTES = env_int("FLONIKS_BUNDLE_MAX_BYTES", 2 * 1024**3, minimum=1024 * 1024)
FLONIKS_BUNDLE_MAX_MEMBER_BYTES = env_int("FLONIKS_BUNDLE_MAX_MEMBER_BYTES", 256 * 1024**2, minimum=1024 * 1024)
FLONIKS_BUNDLE_MAX_UNPACKED_BYTES = env_int("FLONIKS_BUNDLE_MAX_UNPACKED_BYTES", 4 * 1024**3, minimum=1024 * 1024)
FLONIKS_BUNDLE_MAX_MEMBERS = env_int("FLONIKS_BUNDLE_MAX_MEMBERS", 2000, minimum=10)
# Explicit Django defaults: form fields (files aside) over 2.5 MiB are refused; a file over 2.5 MiB
# is spooled to a temporary file instead of memory (bounded by FLONIKS_MAX_REQUEST_BYTES).
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# The sweep is no task in a queue: it runs on a thread of every worker's main process
# (runs_app.sweep.SweepThread), so it never waits behind the work; a lock lets one run at a time.
CELERY_BEAT_SCHEDULE: dict[str, Any] = {}
# A request that finalises a run must not hang when the broker is down: try briefly, the sweep does the rest.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
CELERY_BROKER_CONNECTION_TIMEOUT = env_int("CELERY_BROKER_CONNECTION_TIMEOUT", 2, minimum=1)

# --- Provenance: C2PA signing of record outputs (DESIGN §13, docs/provenance.md) ------------------
# The signing certificate chain (end-entity first, then its CA), its private key and the trust anchors
# verification accepts, each a PEM file read when a record is signed or a file verified (a renewed
# certificate needs no restart). `make run` creates a development CA and signer under var/c2pa on
# first start. Each may instead be given inline as FLONIKS_C2PA_CERT / _KEY / _TRUST_ANCHORS (the PEM
# text itself, as a secret store injects it); setting a value and its *_FILE both is refused.
C2PA_DIR = VAR_DIR / "c2pa"
# The claim generator signed copies name: Floniks/<this>.
with open(BASE_DIR / "pyproject.toml", "rb") as _pyproject:
    FLONIKS_VERSION: str = tomllib.load(_pyproject)["project"]["version"]
FLONIKS_C2PA_CERT, FLONIKS_C2PA_CERT_FILE = env_pem("FLONIKS_C2PA_CERT", C2PA_DIR / "signer-chain.pem")
FLONIKS_C2PA_KEY, FLONIKS_C2PA_KEY_FILE = env_pem("FLONIKS_C2PA_KEY", C2PA_DIR / "signer.key")
FLONIKS_C2PA_TRUST_ANCHORS, FLONIKS_C2PA_TRUST_ANCHORS_FILE = env_pem(
    "FLONIKS_C2PA_TRUST_ANCHORS", C2PA_DIR / "dev-ca.pem"
)
# An RFC 3161 time-stamp authority for signatures (none by default: no outgoing request per record).
FLONIKS_C2PA_TSA_URL = env_str("FLONIKS_C2PA_TSA_URL", "")
# Records signed per sweep, inline on the sweep's thread (records whose signing failed or was lost).
FLONIKS_SIGN_SWEEP_BATCH = env_int("FLONIKS_SIGN_SWEEP_BATCH", 20, minimum=1)
