"""Settings for the marketplace platform.

One file; production differs only by environment variables (see the README's configuration
table). Defaults are the embedded development setup: SQLite and in-process tasks.
"""

from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)
# Required with DEBUG off (a missing one stops the start); the development default only with DEBUG on.
SECRET_KEY = (
    env("SECRET_KEY", default="dev-only-insecure-secret-key-change-me-0123456789abcdef0123456789")
    if DEBUG
    else env("SECRET_KEY")
)
# Previous keys, still accepted for signatures and sessions while a new SECRET_KEY rolls out.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Public base URL of the platform, used in e-mails and in links sent to sellers.
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_htmx",
    "oauth2_provider",
    "axes",
    "health_check",
    "marketplace.core",
    "marketplace.accounts",
    "marketplace.catalog",
    "marketplace.orders",
    "marketplace.provisioning",
    "marketplace.sso",
    "marketplace.portal",
    "billing",
    "invoicing",
    "tickets",
    "refunds",
    "benefits",
]

MIDDLEWARE = [
    "marketplace.core.middleware.RequestIdMiddleware",  # first: every response and log line has the id
    "django.middleware.security.SecurityMiddleware",
    "marketplace.core.middleware.SecurityHeadersMiddleware",  # CSP and Permissions-Policy
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "marketplace.core.resilience.DatabaseUnavailableMiddleware",  # a lost database: 503, not 500
    "django.contrib.sessions.middleware.SessionMiddleware",
    "marketplace.core.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
    "marketplace.core.pagecache.PageCacheMiddleware",  # last: a cached page skips only the view
]

ROOT_URLCONF = "marketplace.urls"
WSGI_APPLICATION = "marketplace.wsgi.application"
ASGI_APPLICATION = "marketplace.asgi.application"

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
                "marketplace.portal.context_processors.portal",
            ],
        },
    }
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env.bool("DATABASE_POOL", default=False):
    # While PostgreSQL is away a request waits this long for a connection, then answers 503: well
    # under gunicorn's 30 s timeout, which would kill the whole process (psycopg_pool's default: 30).
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {"timeout": env.float("DATABASE_POOL_TIMEOUT", default=10)}
    # The pool checks a connection before handing it out: after a PostgreSQL restart its idle
    # connections are dead, and without the check the next requests fail (docs/reliability.md).
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    # Seconds a connection is kept between requests (0: one per request; the pool replaces this).
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = DATABASES["default"]["CONN_MAX_AGE"] > 0
# A read replica (a PostgreSQL hot standby) for exports and reports of closed months; nothing else
# reads from it (marketplace/core/db_router.py, docs/scaling.md). Tests mirror it onto the primary.
if env("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = {
        **DATABASES["default"],
        **env.db("DATABASE_REPLICA_URL"),
        "TEST": {"MIRROR": "default"},
    }
    DATABASE_ROUTERS = ["marketplace.core.db_router.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    # An unreachable Redis is a cache miss, not an error page (marketplace/core/resilience.py).
    CACHES = {
        "default": {
            "BACKEND": "marketplace.core.resilience.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2},
        }
    }
    # Sessions are read from Redis and written through to the database: a page no longer waits
    # for a session query, and a Redis restart signs nobody out.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# A visitor's repeat view of a marked page comes from the cache until a table the page read is
# written (marketplace/core/pagecache.py); the entries' lifetime bounds what the clock changes.
# 0 turns the page cache off: the default without Redis, where each process would keep its own
# cache and not see the generations other processes (a worker, the scheduler) move.
PAGE_CACHE_TIMEOUT = env.int("PAGE_CACHE_TIMEOUT", default=60 if REDIS_URL else 0)
PAGE_CACHE_ALIAS = "default"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out sign-in before the password is checked
    "marketplace.accounts.backends.AccountBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "catalog:home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = env.list(
    "PASSWORD_HASHERS",
    default=[
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    ],
)

# Internationalisation: Chinese first, English second; business time is Beijing time.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
# Uploaded files are private: they are served by views that check ownership, never by URL.
PRIVATE_STORAGE_ROOT = MEDIA_ROOT / "private"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "private": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(PRIVATE_STORAGE_ROOT), "base_url": None},
    },
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# In development WhiteNoise serves straight from the app and project static folders.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=10 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024

# E-mail goes through the outbox (marketplace.core.models.OutboundEmail); this is the transport.
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)  # seconds; a stuck SMTP server must not hold a worker
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Cloud Marketplace <no-reply@marketplace.example>")

# Secrets at rest (access keys, app credentials) are encrypted with Fernet keys from here.
# Several keys, comma-separated, newest first: decryption tries each, encryption uses the first.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
# License files are signed with this Ed25519 key (base64 of its 32-byte seed); development derives
# one from SECRET_KEY.
LICENSE_SIGNING_KEY = env("LICENSE_SIGNING_KEY", default="")

# Single sign-on for sellers' apps: django-oauth-toolkit at the ISV interface's paths (section 3).
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauth2_provider.RefreshToken"
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauth2_provider.IDToken"
OAUTH2_PROVIDER_GRANT_MODEL = "oauth2_provider.Grant"


def _oidc_private_key() -> str:
    """The RSA key that signs ID tokens: OIDC_RSA_PRIVATE_KEY (PEM; "\\n" for newlines in one-line
    variables), else a development key made once and kept in var/oidc-key.pem (outside git, like
    var/sample-isv-key.pem). Production sets the variable: every server must sign with one key."""
    pem = env("OIDC_RSA_PRIVATE_KEY", default="").replace("\\n", "\n").strip()
    if pem:
        return pem
    path = BASE_DIR / "var" / "oidc-key.pem"
    if not path.exists():
        import os
        import tempfile

        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".oidc-key-")
        with os.fdopen(fd, "wb") as out:
            out.write(key)
        try:
            os.link(tmp, path)  # atomic, and never replaces a key another process made first
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    return path.read_text()


OAUTH2_PROVIDER = {
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 300,
    "ACCESS_TOKEN_EXPIRE_SECONDS": 7200,
    "REFRESH_TOKEN_EXPIRE_SECONDS": 30 * 24 * 3600,
    "ID_TOKEN_EXPIRE_SECONDS": 3600,
    "PKCE_REQUIRED": False,  # optional in the protocol; S256 when used
    "SCOPES": {"get_user_info": "Read your user information", "openid": "Sign you in (OpenID Connect)"},
    "DEFAULT_SCOPES": ["get_user_info"],
    # Single-use codes, exact redirect URIs, refresh only while the user may still use the app.
    "OAUTH2_VALIDATOR_CLASS": "marketplace.sso.oauth.MarketplaceOAuth2Validator",
    # Codes go to https redirect URIs only in production (RFC 9700 section 2.1); development also
    # allows http (the sample seller server on 127.0.0.1).
    "ALLOWED_REDIRECT_URI_SCHEMES": env.list(
        "OAUTH_REDIRECT_URI_SCHEMES", default=["http", "https"] if DEBUG else ["https"]
    ),
    # Client secrets are 256 random bits: a fast salted hash is as safe as PBKDF2 for them and keeps
    # the token endpoint fast (marketplace.sso.oauth.ClientSecretHasher says why).
    "CLIENT_SECRET_HASHER": "client_secret_sha256",
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,  # a replayed, rotated refresh token revokes its family
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": _oidc_private_key(),
    "OIDC_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OAUTH2_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OAUTH2_GRANT_TYPES_SUPPORTED": ["authorization_code", "refresh_token"],
    # RFC 9700: tokens hashed at rest (only their SHA-256 is stored), PKCE S256 only, no implicit
    # or password grant, no access token in a URL.
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
}
# Known to Django so stored client secrets are recognised; listed last: user passwords keep PBKDF2.
PASSWORD_HASHERS = [*PASSWORD_HASHERS, "marketplace.sso.oauth.ClientSecretHasher"]
# Token requests per client address (a fixed window in the cache): "120/min", "10/s"; "" is off.
OAUTH_TOKEN_RATE_LIMIT = env("OAUTH_TOKEN_RATE_LIMIT", default="120/min")

# Sign-in lockout (django-axes): 5 failures for one account from one address lock it for 15 minutes.
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_VERBOSE = False  # no banner at every start; lockouts are still logged
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# The sign-in name as every form and API posts it, case-folded ("A@x.com" is "a@x.com").
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "marketplace.accounts.lockout.username_of"
# Tries during a lockout do not extend it: the cool-off runs from the fifth failure.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# A translated page for people, 403 JSON for the API.
AXES_LOCKOUT_CALLABLE = "marketplace.accounts.lockout.lockout_response"

# Secure headers (marketplace.core.middleware.SecurityHeadersMiddleware; docs/architecture.md, "Secure headers").
# Scripts, styles, images and fonts from our own origin only; no inline script anywhere (behaviour
# lives in static/js/app.js). Style attributes and a few <style> blocks stay, so styles allow
# 'unsafe-inline' (styles cannot run code). data: images for Swagger UI's icons. Nothing frames us.
# No form-action: Chromium applies it to a form's redirects too, and signing in to a seller's app ends
# with a redirect to the app's own address.
CONTENT_SECURITY_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "frame-ancestors": ["'none'"],
}
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()"
)
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Celery: a real broker when REDIS_URL is set, otherwise tasks run in-process.
CELERY_BROKER_URL = REDIS_URL or "memory://localhost//"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = False
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A task a dead worker took (acks late) goes back to the queue after this many seconds; longer than
# the longest task (docs/reliability.md).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "marketplace.accounts.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "marketplace.core.api.Pagination",
    "PAGE_SIZE": 20,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "marketplace.core.api.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"auth": env("API_AUTH_THROTTLE", default="20/min")},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Cloud Marketplace API",
    "DESCRIPTION": "Buyer, seller and catalog endpoints of the cloud software marketplace.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI is served from our own static files, never from a CDN.
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "marketplace.orders.models.Order.Status",
        "ProductStatusEnum": "marketplace.catalog.models.Product.Status",
        "SubscriptionStatusEnum": "marketplace.orders.models.Subscription.Status",
        "PaymentStatusEnum": "marketplace.orders.models.Payment.Status",
        "PaymentMethodEnum": "marketplace.orders.models.PaymentMethod",
        "OrderTypeEnum": "marketplace.orders.models.OrderType",
        "StatementStatusEnum": "billing.models.Statement.Status",
        "ExportStatusEnum": "billing.models.ExportJob.Status",
        "DisputeStatusEnum": "billing.models.Dispute.Status",
    },
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Business settings (DOMAIN.md). Operations can override the ones marked editable in the admin.
MARKETPLACE = {
    "CURRENCY": "CNY",
    # Onboarding bar for sellers (DOMAIN.md section 1).
    "ONBOARDING_MIN_COMPANY_AGE_YEARS": 1,
    "ONBOARDING_MIN_REGISTERED_CAPITAL": "500000",
    "ONBOARDING_MIN_STAFF": 15,
    "ONBOARDING_MIN_SUPPORT_DAYS": 5,
    "ONBOARDING_MIN_SUPPORT_HOURS_PER_DAY": 8,
    # Unpaid orders are closed after this many minutes.
    "UNPAID_ORDER_TTL_MINUTES": env.int("UNPAID_ORDER_TTL_MINUTES", default=24 * 60),
    # Buyers' invoices: issued within this many days of the request; explanation letters are
    # stamped this many seconds after they are asked for (about 5 minutes; 0 in tests).
    "INVOICES": {
        "ISSUE_WITHIN_DAYS": 7,
        "LETTER_STAMP_SECONDS": env.int("LETTER_STAMP_SECONDS", default=300),
    },
    # Refunds (DOMAIN.md section 8): no-reason refunds of non-supervised SaaS within this many days
    # of payment, at most this many per buyer account a year; a seller answers a request within
    # this many days or it goes to operations; approved refunds are paid back within 3 hours.
    "REFUNDS": {
        "NO_REASON_DAYS": 5,
        "NO_REASON_PER_YEAR": 10,
        "SELLER_ANSWER_DAYS": env.int("REFUND_SELLER_ANSWER_DAYS", default=7),
        "PAY_WITHIN_HOURS": 3,
    },
    # Merchant benefits (DOMAIN.md section 9): the merchant acceleration plan opens at this GMV (CNY,
    # this calendar year, net of refunds); marketing support opens once the plan is approved.
    "ACCELERATION_PLAN_GMV": "2000000",
    # Tickets waiting for the customer's confirmation complete by themselves after this many days.
    "TICKET_AUTO_COMPLETE_DAYS": env.int("TICKET_AUTO_COMPLETE_DAYS", default=7),
    # Invitations to join a tenant or a seller expire after this many days.
    "INVITATION_TTL_DAYS": 7,
    # The sandbox payment gateway fails every charge when this is on (for demos and tests).
    "SANDBOX_GATEWAY_FAIL_ALL": env.bool("SANDBOX_GATEWAY_FAIL_ALL", default=False),
    "DEMO_PASSWORD": "demo-pass-2026",
    # Produce and sync calls to sellers' servers (specs/isv-interface.md).
    "PROVISIONING": {
        "CONNECT_TIMEOUT": env.float("PRODUCE_CONNECT_TIMEOUT", default=3.0),
        "TOTAL_TIMEOUT": env.float("PRODUCE_TOTAL_TIMEOUT", default=10.0),
        # newInstance: attempts at these offsets (seconds) from the first; after the last failure the
        # order fails and is refunded.
        "NEW_INSTANCE_SCHEDULE": [0, 3600, 7200, 10800],
        # Other calls: every RETRY_EVERY seconds for RETRY_FOR seconds, then parked for operations.
        "RETRY_EVERY": 600,
        "RETRY_FOR": 3600,
        # newInstance answered "still processing" (000004): poll queryInstance this often, this long.
        "POLL_EVERY": 60,
        "POLL_FOR": 600,
        "LEASE_SECONDS": env.int("PRODUCE_LEASE_SECONDS", default=60),
        "DELIVERY_THREADS": env.int("PRODUCE_DELIVERY_THREADS", default=8),
        "RELEASE_AFTER_EXPIRY_DAYS": 7,
        "DELIST_AFTER_FAILED_ORDERS": 5,
    },
}

# One line per record with the request id (marketplace/core/logging.py): JSON in production.
LOG_FORMAT = env("LOG_FORMAT", default="plain" if DEBUG else "json")
if LOG_FORMAT not in ("plain", "json"):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("LOG_FORMAT must be plain or json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"()": "marketplace.core.logging.PlainFormatter"},
        "json": {"()": "marketplace.core.logging.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "celery.app.trace": {"level": "WARNING"},
        # Their debug lines carry authorization codes and refresh tokens: never below INFO.
        "oauthlib": {"level": "INFO"},
        "oauth2_provider": {"level": "INFO"},
        # Every successful sign-in and its bookkeeping at INFO; failures and lockouts stay.
        "axes": {"level": "WARNING"},
    },
}

# Health endpoints (marketplace/core/health.py): how long the workers check waits for a pong.
HEALTH_WORKERS_TIMEOUT = env.float("HEALTH_WORKERS_TIMEOUT", default=1.0)

# Deploy checks that the ISV interface decides against (specs/isv-interface.md, docs/sso.md):
# PKCE is optional for sellers' apps, and the authorization response carries code, state and
# tenant only (no RFC 9207 `iss`).
SILENCED_SYSTEM_CHECKS = ["oauth2_provider.W010", "oauth2_provider.W005"]

if not DEBUG:
    # Behind a reverse proxy that ends TLS and sets X-Forwarded-Proto (README, "Deployment").
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^health/"]  # probes talk plain HTTP to the app port
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SECURE_CONTENT_TYPE_NOSNIFF = True
