"""Settings, read from the environment; with no environment at all the embedded default runs
(SQLite, Celery on kombu's filesystem broker, local-memory cache, local-disk media, localcloud)."""
import sys
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from portal.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

# pytest imports the settings itself; it never serves real traffic.
TESTING = "pytest" in sys.modules or env_bool("PORTAL_TESTING", False)

DEFAULT_SECRET_KEY = "insecure-embedded-default-secret-key-change-me"
SECRET_KEY = env_str("SECRET_KEY", DEFAULT_SECRET_KEY)
DEBUG = env_bool("DEBUG", False)
if not DEBUG and not TESTING and SECRET_KEY == DEFAULT_SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY is the built-in default. Set SECRET_KEY in the environment "
        "(or DEBUG=1 for local development)."
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
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
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from our static files (works offline)
    "django_htmx",
    "axes",
    "portal",
    "devices",
    "playback",
    "localcloud",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "portal.middleware.TenantMiddleware",
    "portal.middleware.UserTimezoneMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.tenancy",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("CONN_MAX_AGE", 60))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker, beat and localcloud share the file: WAL lets readers run beside one writer
    # and IMMEDIATE transactions turn lock upgrades into a wait instead of "database is locked".
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (rate limits, signed-URL cache) -----------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for sub in ("queue", "processed", "control"):
        (_broker_dir / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict = {}
# Fleet mirror (devices): sync every tenant's products and devices from the cloud.
CELERY_BEAT_SCHEDULE["devices-sync-all"] = {
    "task": "devices.tasks.sync_all_tenants",
    "schedule": env_int("DEVICES_SYNC_INTERVAL", 15 * 60),
}
# A device's package is re-read by the sync when older than this (or new, or past expiry).
DEVICES_PACKAGE_REFRESH_SECONDS = env_int("DEVICES_PACKAGE_REFRESH_SECONDS", 6 * 60 * 60)
DEVICES_SYNC_THREADS = env_int("DEVICES_SYNC_THREADS", 4)
DEVICES_QUEUE = env_str("DEVICES_QUEUE", "celery")  # the Celery queue of the fleet tasks
# Packages (devices.packages): orders checked against the cloud (lost tasks queued again),
# auto-renewal and the staff's expiry email once a day.
CELERY_BEAT_SCHEDULE["packages-reconcile"] = {
    "task": "devices.packages.orders_reconcile",
    "schedule": env_int("PACKAGES_RECONCILE_INTERVAL", 5 * 60),
}
CELERY_BEAT_SCHEDULE["packages-auto-renew"] = {
    "task": "devices.packages.auto_renew", "schedule": 24 * 60 * 60,
}
CELERY_BEAT_SCHEDULE["packages-expiry-digest"] = {
    "task": "devices.packages.expiry_digest", "schedule": 24 * 60 * 60,
}
# localcloud retention: media older than its package's retention days, in bounded batches.
CELERY_BEAT_SCHEDULE["localcloud-retention"] = {
    "task": "localcloud.retention_purge",
    "schedule": env_int("LOCALCLOUD_RETENTION_INTERVAL", 10 * 60),
}
# How long a worker holds an order it submits before another run may take it over.
PACKAGES_SUBMIT_LEASE_SECONDS = env_int("PACKAGES_SUBMIT_LEASE_SECONDS", 30)
# The queue order submissions go to: give it its own workers so a bulk purchase does not hold
# up other tasks (start them with `celery -A portal worker -Q <name>`).
PACKAGES_QUEUE = env_str("PACKAGES_QUEUE", "celery")
# Orders per submission task of a bulk purchase: fewer messages and reads per order, while
# enough chunks remain to keep every worker process busy.
PACKAGES_SUBMIT_CHUNK = env_int("PACKAGES_SUBMIT_CHUNK", 10)

# --- Media and static -----------------------------------------------------------------------
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media/"
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
_media_backend = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
if env_str("AWS_STORAGE_BUCKET_NAME"):
    _media_backend = {"BACKEND": "storages.backends.s3.S3Storage"}
    # django-storages reads these from settings, not from the environment (it finds only the
    # keys there: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN). Empty means
    # boto3's default. An S3-compatible server reached by IP address or a plain host name (MinIO,
    # a test's moto) needs AWS_S3_ENDPOINT_URL and AWS_S3_ADDRESSING_STYLE=path.
    AWS_STORAGE_BUCKET_NAME = env_str("AWS_STORAGE_BUCKET_NAME")
    AWS_S3_ENDPOINT_URL = env_str("AWS_S3_ENDPOINT_URL") or None
    AWS_S3_REGION_NAME = env_str("AWS_S3_REGION_NAME") or None
    AWS_S3_ADDRESSING_STYLE = env_str("AWS_S3_ADDRESSING_STYLE") or None  # "path" / "virtual"
    AWS_S3_SIGNATURE_VERSION = env_str("AWS_S3_SIGNATURE_VERSION") or None
STORAGES = {
    "default": _media_backend,
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or TESTING
        else "portal.staticfiles.StaticFilesStorage"  # whitenoise, hashed
    },
}

# --- Auth, sessions, throttling -------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 60 * 60 * 12)
SESSION_EXPIRE_AT_BROWSER_CLOSE = False
SESSION_SAVE_EVERY_REQUEST = True  # the 12 h window slides with activity
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
INVITATION_MAX_AGE = env_int("INVITATION_MAX_AGE", 60 * 60 * 24 * 7)

# Django 6.1 mailers (EMAIL_BACKEND and friends are deprecated). Console by default; with
# EMAIL_HOST set, SMTP with the EMAIL_* variables as its options.
if env_str("EMAIL_HOST"):
    _mailer = {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": env_str("EMAIL_HOST"),
            "port": env_int("EMAIL_PORT", 587),
            "username": env_str("EMAIL_HOST_USER"),
            "password": env_str("EMAIL_HOST_PASSWORD"),
            "use_tls": env_bool("EMAIL_USE_TLS", True),
            "timeout": env_int("EMAIL_TIMEOUT", 20),
        },
    }
else:
    _mailer = {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
MAILERS = {"default": _mailer}
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "portal@localhost")

# --- Secrets at rest ------------------------------------------------------------------------
# Fernet keys, newest first; older keys still decrypt so they can be rotated out.
FERNET_KEYS = env_list("FERNET_KEYS", [])
if not FERNET_KEYS:
    if not DEBUG and not TESTING:
        raise ImproperlyConfigured("FERNET_KEYS must be set when DEBUG is off.")
    FERNET_KEYS = ["DnlwqjAFSzJTmSNUb8mhdVy_NP0wmuXobdAdS6FXg7k="]  # embedded default only

# --- Security headers -----------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = 0 if DEBUG else env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("USE_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOCALCLOUD_PUBLIC_URL = env_str("LOCALCLOUD_PUBLIC_URL", "http://127.0.0.1:8010")
# Where signed media (playlists, segments, thumbnails) may come from: localcloud and any CDN.
MEDIA_ORIGINS = env_list("MEDIA_ORIGINS", [LOCALCLOUD_PUBLIC_URL])
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:", "blob:", *MEDIA_ORIGINS],
    "media-src": [CSP.SELF, "blob:", *MEDIA_ORIGINS],
    "connect-src": [CSP.SELF, *MEDIA_ORIGINS],
    "worker-src": [CSP.SELF, "blob:"],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}

# --- Language and time ----------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "devices.api.authentication.ApiKeyAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.CursorPagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "IoT Video cloud-storage portal API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- localcloud (the embedded cloud; its own settings, read only by localcloud) --------------
LOCALCLOUD_SECRET_ID = env_str("LOCALCLOUD_SECRET_ID", "AKIDlocalclouddemo0000000000000000")
LOCALCLOUD_SECRET_KEY = env_str("LOCALCLOUD_SECRET_KEY", "localclouddemosecretkey000000000")
LOCALCLOUD_TIME_ZONE = env_str("LOCALCLOUD_TIME_ZONE", "Asia/Shanghai")
LOCALCLOUD_FAULTS = env_str("LOCALCLOUD_FAULTS", "")
LOCALCLOUD_MEDIA_ROOT = Path(env_str("LOCALCLOUD_MEDIA_ROOT", str(MEDIA_ROOT / "localcloud")))
# Media-URL signing keys "kid:secret,kid:secret", newest first (rotation keeps old URLs valid).
LOCALCLOUD_MEDIA_KEYS = env_str("LOCALCLOUD_MEDIA_KEYS", "k1:localcloud-demo-media-signing-key")
LOCALCLOUD_CORS_ORIGINS = env_list(
    "LOCALCLOUD_CORS_ORIGINS", ["http://127.0.0.1:8000", "http://localhost:8000"]
)
# The runlocalcloud process (localcloud.wsgi sets LOCALCLOUD_SERVER=1) serves only localcloud's
# URLs, with no sessions, auth or CSRF: the API is HMAC-signed and media URLs carry signatures.
LOCALCLOUD_SERVER = env_bool("LOCALCLOUD_SERVER", False)
if LOCALCLOUD_SERVER:
    ROOT_URLCONF = "localcloud.urls"
    MIDDLEWARE = [
        "django.middleware.security.SecurityMiddleware",
        "django.middleware.common.CommonMiddleware",
    ]
    # Behind a load balancer the SDK signs whatever host it was given; localcloud builds no URL
    # from the Host header (LOCALCLOUD_PUBLIC_URL is the base), so it need not refuse any.
    ALLOWED_HOSTS = env_list("LOCALCLOUD_ALLOWED_HOSTS", ["*"])
    if (DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
            and env_bool("LOCALCLOUD_DB_PREPARE", True)):
        # Device uploads run the same few statements hundreds of times a second. With the
        # parameters bound by the server, psycopg prepares each statement on its second run,
        # and PostgreSQL plans it once per connection: that nearly halves its CPU per upload
        # (docs/benchmarks.md). Generic plans always: one camera with 30 days of segments
        # skews the segment table so much that PostgreSQL otherwise judged the generic plan
        # too costly and planned every upload anew (about 1 ms each). Set
        # LOCALCLOUD_DB_PREPARE=0 behind a pooler in transaction mode that cannot keep
        # prepared statements.
        _options = DATABASES["default"].setdefault("OPTIONS", {})
        _options.update(server_side_binding=True, prepare_threshold=2)
        _options["options"] = " ".join(
            filter(None, [_options.get("options"), "-c plan_cache_mode=force_generic_plan"]))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}
