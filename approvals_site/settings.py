"""Settings for the approval dashboard: one file, driven by environment variables.

Every variable is listed in ``.env.example``. The defaults need no service at all:
SQLite, the in-memory channel layer and the embedded Trigger.dev sandbox.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

from approvals_site.env import env_bool, env_float, env_int, env_list, env_str

# Lets classes such as ModelAdmin[Approval] be subscripted at run time, as mypy --strict wants.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

DEBUG = env_bool("DJANGO_DEBUG", False)

# --- Trigger.dev ---------------------------------------------------------------------------
# Both unset: the embedded sandbox. Both set: the real API. One without the other is reported
# by the system check approvals.E003 rather than guessed at.
TRIGGER_API_URL = env_str("TRIGGER_API_URL")
TRIGGER_SECRET_KEY = env_str("TRIGGER_SECRET_KEY")
TRIGGER_USES_SANDBOX = TRIGGER_API_URL is None and TRIGGER_SECRET_KEY is None
TRIGGER_TIMEOUT_SECONDS = env_float("TRIGGER_TIMEOUT_SECONDS", 15.0, minimum=0.1)
TRIGGER_SANDBOX_SCENARIO = env_str("TRIGGER_SANDBOX_SCENARIO", "demo")
TRIGGER_SANDBOX_SEED = env_int("TRIGGER_SANDBOX_SEED", 1)
# Link from the pages to a run on Trigger.dev's own dashboard; "{run_id}" is replaced by the
# run id. Unset: no external link (the embedded sandbox has no dashboard of its own).
TRIGGER_RUN_URL_TEMPLATE = env_str("TRIGGER_RUN_URL_TEMPLATE", "") or ""
# The tag a task puts on its run and its token to ask for a human decision (README.md, "The
# approval contract").
APPROVAL_TAG = env_str("APPROVAL_TAG", "needs-approval")
# Run statuses that count as "waiting for a decision". The seed assumed DELAYED; the real
# server reports WAITING (checkpointed), FROZEN (no API-version header) or EXECUTING (dev).
APPROVAL_AWAITING_STATUSES = env_list(
    "APPROVAL_AWAITING_STATUSES", ["DELAYED", "WAITING", "FROZEN", "EXECUTING"]
)
# Delivering a decision (approvals.decisions): attempts and per-call timeout while the reviewer
# waits; then the worker retries with backoff doubling from BACKOFF up to MAX_BACKOFF seconds.
APPROVAL_DELIVERY_ATTEMPTS = env_int("APPROVAL_DELIVERY_ATTEMPTS", 2, minimum=1)
APPROVAL_DELIVERY_TIMEOUT_SECONDS = env_float("APPROVAL_DELIVERY_TIMEOUT_SECONDS", 5.0, minimum=0.1)
APPROVAL_DELIVERY_BACKOFF_SECONDS = env_float("APPROVAL_DELIVERY_BACKOFF_SECONDS", 2.0, minimum=0)
APPROVAL_DELIVERY_MAX_BACKOFF_SECONDS = env_float(
    "APPROVAL_DELIVERY_MAX_BACKOFF_SECONDS", 300.0, minimum=0
)
# Largest JSON API request body, in bytes (larger: 413), and the largest body any other
# URL takes (forms are small; the admin uploads nothing). Both are enforced in front of
# Django, before the body is read (approvals.body_limit).
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 64 * 1024, minimum=1024)
MAX_REQUEST_BODY_BYTES = env_int("MAX_REQUEST_BODY_BYTES", 1024 * 1024, minimum=16 * 1024)
# A bulk action answers once its deliveries are done or after this many seconds; the rest
# carry on in the background (approvals.decisions.decide_many).
APPROVAL_BULK_WAIT_SECONDS = env_float("APPROVAL_BULK_WAIT_SECONDS", 10.0, minimum=0)
# The sync worker (approvals.sync.worker): seconds between reconcile passes, how far back the runs
# list looks (a Trigger.dev period such as 30d; without one the server covers only 7 days),
# and whether the web process runs the loop itself (the default with the embedded sandbox).
SYNC_INTERVAL_SECONDS = env_float("SYNC_INTERVAL_SECONDS", 5.0, minimum=0.1)
SYNC_RUN_WINDOW = env_str("SYNC_RUN_WINDOW", "30d")
SYNC_IN_WEB_PROCESS = env_bool("SYNC_IN_WEB_PROCESS", TRIGGER_USES_SANDBOX)
# The upstream budget (README, "The sync worker"; docs/design.md, "Upstream budget"). Between
# full reconciles, each pass lists only the tokens created in the last
# SYNC_INTERVAL_SECONDS + SYNC_RECENT_OVERLAP_SECONDS; the realtime feed reports run changes
# within milliseconds. A full reconcile runs every SYNC_FULL_INTERVAL_SECONDS, its calls paced
# to SYNC_FULL_CALLS_PER_MINUTE (the first after start is not paced). Every call of the worker
# waits for Trigger.dev's bucket to refill rather than spend the last SYNC_RATE_RESERVE share of
# it, which the tasks using the same key need.
SYNC_FULL_INTERVAL_SECONDS = env_float("SYNC_FULL_INTERVAL_SECONDS", 300.0, minimum=1)
SYNC_FULL_CALLS_PER_MINUTE = env_float("SYNC_FULL_CALLS_PER_MINUTE", 20.0, minimum=1)
SYNC_RECENT_OVERLAP_SECONDS = env_float("SYNC_RECENT_OVERLAP_SECONDS", 60.0, minimum=0)
SYNC_RATE_RESERVE = env_float("SYNC_RATE_RESERVE", 0.2, minimum=0)
# After a decision is delivered its run is followed to its end (retrieved each pass) for at
# most this many hours; a run Trigger.dev reports resumed-by-token but still parked after
# APPROVAL_RUN_RESUME_SECONDS is flagged on its page and counted in the admin
# (docs/live-updates.md, "Following the run").
SYNC_FOLLOW_RUNS_HOURS = env_float("SYNC_FOLLOW_RUNS_HOURS", 24.0, minimum=0)
APPROVAL_RUN_RESUME_SECONDS = env_float("APPROVAL_RUN_RESUME_SECONDS", 300.0, minimum=1)

# --- Notifications (docs/notifications.md) ----------------------------------------------------
# The dashboard's public origin, e.g. https://approvals.example.com: every link in an email or a
# Slack message starts with it (system check approvals.E012 when email is on without it). With
# the embedded sandbox it defaults to make run's address.
APPROVALS_BASE_URL = (
    env_str("APPROVALS_BASE_URL", "http://127.0.0.1:8000" if TRIGGER_USES_SANDBOX else None) or ""
).rstrip("/")
# Email goes out through Django's SMTP backend once EMAIL_HOST is set. Without it, the demo
# (the embedded sandbox) logs each message instead, and a deployment against
# a real Trigger.dev sends no email at all (webhook and Slack channels still work). The demo's
# "mail server" logs one line per message; each person reads theirs under Notifications.
EMAIL_HOST = env_str("EMAIL_HOST", "") or ""
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "") or ""
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "") or ""
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "approvals@localhost") or "approvals@localhost"
SERVER_EMAIL = DEFAULT_FROM_EMAIL
NOTIFY_EMAIL = bool(EMAIL_HOST) or TRIGGER_USES_SANDBOX
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "approvals.notify.console_mail.OneLineBackend"
)
# One webhook channel from the environment, for a quick start (more in the admin).
NOTIFY_WEBHOOK_URL = env_str("NOTIFY_WEBHOOK_URL", "") or ""
NOTIFY_WEBHOOK_SECRET = env_str("NOTIFY_WEBHOOK_SECRET", "") or ""
# How the outbox sends: each call's timeout; retries back off from BACKOFF doubling up to
# MAX_BACKOFF seconds, for at most RETRY_FOR seconds, then the message is recorded as failed.
NOTIFY_TIMEOUT_SECONDS = env_float("NOTIFY_TIMEOUT_SECONDS", 10.0, minimum=0.1)
NOTIFY_BACKOFF_SECONDS = env_float("NOTIFY_BACKOFF_SECONDS", 5.0, minimum=0)
NOTIFY_MAX_BACKOFF_SECONDS = env_float("NOTIFY_MAX_BACKOFF_SECONDS", 900.0, minimum=0)
NOTIFY_RETRY_FOR_SECONDS = env_float("NOTIFY_RETRY_FOR_SECONDS", 24 * 3600.0, minimum=0)
NOTIFY_POLL_SECONDS = env_float("NOTIFY_POLL_SECONDS", 1.0, minimum=0.05)
# Receivers sent to at once: one slow receiver holds up only its own messages.
NOTIFY_SENDERS = env_int("NOTIFY_SENDERS", 4, minimum=1)
# approval.reminder this long before expiry (0: no reminders); approval.delivery_failed once a
# decision has waited this long for Trigger.dev to take it.
NOTIFY_REMINDER_MINUTES = env_float("NOTIFY_REMINDER_MINUTES", 60.0, minimum=0)
NOTIFY_DELIVERY_FAILED_MINUTES = env_float("NOTIFY_DELIVERY_FAILED_MINUTES", 15.0, minimum=0)
# The worker's safety net announces changes whose event was lost (a process died between the
# commit and the event) if they are at most this old.
NOTIFY_CATCH_UP_MINUTES = env_float("NOTIFY_CATCH_UP_MINUTES", 60.0, minimum=0)
# Whether the approvals found by the very first sync (the backlog already waiting when the
# dashboard is connected) are announced: off in production (hundreds of emails per reviewer
# at once), on in the demo so its seeded approvals show what a notification looks like.
NOTIFY_FIRST_SYNC = env_bool("NOTIFY_FIRST_SYNC", TRIGGER_USES_SANDBOX)
# Whether the sync worker's leader sends notifications (off only in tests that drive the
# outbox themselves).
NOTIFY_IN_WORKER = env_bool("NOTIFY_IN_WORKER", True)

# --- Django core -----------------------------------------------------------------------------
_secret_key = env_str("DJANGO_SECRET_KEY")
INSECURE_DEV_SECRET_KEY = "insecure-development-key-do-not-use-in-production"
if _secret_key is None:
    # A production deployment (the real Trigger.dev, no DEBUG) has no default secret.
    if not (DEBUG or TRIGGER_USES_SANDBOX):
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when a real Trigger.dev is configured "
            "(TRIGGER_API_URL or TRIGGER_SECRET_KEY is set) and DJANGO_DEBUG is off"
        )
    _secret_key = INSECURE_DEV_SECRET_KEY
SECRET_KEY = _secret_key

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "template_partials",
    "approvals",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "approvals.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "approvals.security.PrivateNoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A trusted authentication proxy's user header signs people in (docs/auth-proxy.md).
    "approvals.auth.proxy.TrustedProxyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "approvals.input_guard.UnstorableInputMiddleware",
    # Pages, not dead ends: a signed-out htmx request is sent to sign in (HX-Redirect) and
    # back to its page; a 405 gets the site's frame; filter URLs lose empty parameters.
    "approvals.auth.htmx_login.HtmxSignInRedirectMiddleware",
    "approvals.error_pages.MethodNotAllowedPageMiddleware",
    "approvals.clean_filters.DropEmptyFiltersMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a lockout raised during sign-in into its answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "approvals_site.urls"
ASGI_APPLICATION = "approvals_site.asgi.application"

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
                "approvals.context_processors.trigger_mode",
            ],
        },
    },
]

# Rendered queue pages each web process keeps and serves again while nothing they show has
# changed (approvals.presentation.queue_cache; docs/design.md, "The queue page's cache").
# About 45 KB each; 0 renders every request.
QUEUE_PAGE_CACHE_ENTRIES = env_int("QUEUE_PAGE_CACHE_ENTRIES", 256, minimum=0)

DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
# The most PostgreSQL connections one process holds (web or worker). Under ASGI each request
# runs on a thread of its own, and with persistent connections (CONN_MAX_AGE) every such
# thread kept one: a burst of anonymous requests exhausted the server's connections for
# everyone. Django's connection pool (psycopg-pool) bounds them; a request finding the pool
# busy waits up to DATABASE_POOL_TIMEOUT_SECONDS (docs/hardening.md, "Connections").
DATABASE_POOL_MAX_SIZE = env_int("DATABASE_POOL_MAX_SIZE", 10, minimum=1)
# Threads a web process runs pages on (approvals_site/http_handler.py); a request waits for a
# free one. A request holds its pooled connection until it ends, so more threads than
# connections would only wait for the pool instead (docs/design.md, "Serving").
WEB_THREADS = env_int("WEB_THREADS", DATABASE_POOL_MAX_SIZE, minimum=1)
DATABASE_POOL_TIMEOUT_SECONDS = env_float("DATABASE_POOL_TIMEOUT_SECONDS", 10.0, minimum=0.1)
try:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL or "", conn_max_age=0)}
except Exception as exc:  # dj-database-url raises several types; all mean "bad URL"
    raise ImproperlyConfigured(f"DATABASE_URL is not a usable database URL: {exc}") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 0,
        "max_size": DATABASE_POOL_MAX_SIZE,
        "timeout": DATABASE_POOL_TIMEOUT_SECONDS,
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The sync worker thread writes while requests do: take the write lock when a transaction
    # starts (a deferred one fails at once with "database is locked") and wait for it a while.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20}
    )
    # Tests get a file beside it, not Django's in-memory database: that one runs in SQLite's
    # shared-cache mode, whose table locks ignore the timeout above, so a background delivery
    # and a request meeting in the same table failed at once ("database table is locked").
    # A file behaves as `make run` does, and child processes (uvicorn in tests) can open it.
    DATABASES["default"]["TEST"] = {"NAME": f"{DATABASES['default']['NAME']}-test"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Channels ------------------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": REDIS_URL,
                        # redis-py 8 reads with a 5 s timeout, the same as channels-redis's
                        # blocking pop: an idle receive then failed and dropped its socket
                        # (channels_redis#422). Read longer than the pop waits.
                        "socket_timeout": 30,
                        "socket_connect_timeout": 5,
                        # redis-py 8 fails at once past 100 connections a process; a
                        # reconnecting crowd of sockets needs more (docs/live-updates.md).
                        "max_connections": 1_000,
                    }
                ]
            },
        }
    }
else:
    # Fine for one process (the embedded default); production sets REDIS_URL.
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Auth ------------------------------------------------------------------------------
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes first: it refuses sign-ins while an account or an address is locked out.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "approvals.auth.passwords.PasswordBackend",
    # Reads back the sessions of users signed in through SSO (approvals.auth.accounts).
    "approvals.auth.accounts.SsoBackend",
]

# --- Single sign-on (README, "Single sign-on"; docs/sso.md) -------------------------------
# OpenID Connect, authorization code with PKCE (S256), through Authlib. Set OIDC_ISSUER to turn
# it on: endpoints and keys come from <issuer>/.well-known/openid-configuration. The redirect
# URI to register at the provider is <origin>/oidc/callback/.
OIDC_ISSUER = env_str("OIDC_ISSUER")
OIDC_CLIENT_ID = env_str("OIDC_CLIENT_ID")
OIDC_CLIENT_SECRET = env_str("OIDC_CLIENT_SECRET")
OIDC_SCOPES = env_str("OIDC_SCOPES", "openid email profile") or ""
OIDC_USERNAME_CLAIM = env_str("OIDC_USERNAME_CLAIM", "preferred_username") or ""
OIDC_GROUPS_CLAIM = env_str("OIDC_GROUPS_CLAIM", "groups") or ""
# How the client secret reaches the token endpoint: in the form body (client_secret_post, which
# Keycloak, Entra ID and most providers accept) or as HTTP Basic (client_secret_basic).
OIDC_TOKEN_AUTH_METHOD = env_str("OIDC_TOKEN_AUTH_METHOD", "client_secret_post") or ""
# Seconds for each call to the provider, and how long a sign-in may take from leaving for the
# provider to coming back (a state older than that is refused as expired).
OIDC_TIMEOUT_SECONDS = env_float("OIDC_TIMEOUT_SECONDS", 10.0, minimum=0.1)
OIDC_STATE_MAX_AGE_SECONDS = env_int("OIDC_STATE_MAX_AGE_SECONDS", 600, minimum=30)
# A session made by signing in through the provider ends this long after (not renewed by use):
# the next request goes through the provider again, usually without a prompt, and rights
# removed there take effect. Deactivating a user in the admin takes effect at once.
OIDC_SESSION_MINUTES = env_int("OIDC_SESSION_MINUTES", 480, minimum=5)
# The provider's groups (OIDC's groups claim, or the proxy's groups header) that make a user a
# reviewer (the group holding the decide permission) or an admin (staff and superuser). Other
# provider groups are mirrored onto Django groups of the same name, where one exists (a
# policy's approver groups). Sign-in through SSO makes the provider the source of membership.
OIDC_REVIEWER_GROUPS = env_list("OIDC_REVIEWER_GROUPS", [])
OIDC_ADMIN_GROUPS = env_list("OIDC_ADMIN_GROUPS", [])
# A trusted authentication proxy (oauth2-proxy and the like; docs/auth-proxy.md): the header
# naming the user, optionally its groups and email. Believed only from AUTH_PROXY_TRUSTED_CIDRS
# or with AUTH_PROXY_SECRET in AUTH_PROXY_SECRET_HEADER; otherwise ignored and logged.
AUTH_PROXY_USER_HEADER = env_str("AUTH_PROXY_USER_HEADER")
AUTH_PROXY_GROUPS_HEADER = env_str("AUTH_PROXY_GROUPS_HEADER")
AUTH_PROXY_EMAIL_HEADER = env_str("AUTH_PROXY_EMAIL_HEADER")
AUTH_PROXY_TRUSTED_CIDRS = env_list("AUTH_PROXY_TRUSTED_CIDRS", [])
AUTH_PROXY_SECRET_HEADER = env_str("AUTH_PROXY_SECRET_HEADER")
AUTH_PROXY_SECRET = env_str("AUTH_PROXY_SECRET")
# Where "Sign out" sends the browser after ending the session here, when the proxy has a
# sign-out address of its own (oauth2-proxy: /oauth2/sign_out): otherwise the proxy's session
# signs the person straight back in at the next request.
AUTH_PROXY_SIGN_OUT_URL = env_str("AUTH_PROXY_SIGN_OUT_URL")
SSO_OIDC = OIDC_ISSUER is not None
SSO_PROXY = AUTH_PROXY_USER_HEADER is not None
SSO_ENABLED = SSO_OIDC or SSO_PROXY
# With SSO on, password sign-in is off except for these local admin accounts (break-glass:
# the provider is down or misconfigured). Each such sign-in is logged as a warning.
SSO_BREAK_GLASS_USERS = env_list("SSO_BREAK_GLASS_USERS", [])
if SSO_OIDC:
    # Anonymous visitors go straight to the provider, and come back to the page they asked for.
    LOGIN_URL = "oidc_authenticate"
# Sign-in throttling (django-axes; docs/hardening.md, "Sign-in throttling"): after
# LOGIN_FAILURE_LIMIT failures for one username, or from one address, further attempts are
# refused for LOGIN_COOLOFF_MINUTES, on /accounts/login/ and /admin/login/ alike. Failed
# API-token attempts count against the address too (approvals.api.auth).
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_float("LOGIN_COOLOFF_MINUTES", 15.0, minimum=0.1))
# Either the username or the address locks; the OIDC callback has a rule of its own.
AXES_LOCKOUT_PARAMETERS = "approvals.throttling.lockout_parameters"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "approvals.throttling.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429
# Only failures are recorded (the access log would grow by a row per sign-in).
AXES_DISABLE_ACCESS_LOG = True
# The demo reviewers exist only while the embedded sandbox is in use (see approvals.auth.demo).
# Two, so that an approval needing two reviewers (the demo's deploy policy) can be seen through.
DEMO_REVIEWER_USERNAME = "demo"
DEMO_REVIEWER_PASSWORD = "demo-reviewer"
DEMO_SECOND_REVIEWER_USERNAME = "demo2"
DEMO_SECOND_REVIEWER_PASSWORD = "demo2-reviewer"

# --- Security headers ------------------------------------------------------------------------
# "Production" = a real Trigger.dev with DEBUG off: HTTPS everywhere unless told otherwise, so
# `manage.py check --deploy` passes with no warnings. The embedded demo runs on plain HTTP.
_PRODUCTION = not DEBUG and not TRIGGER_USES_SANDBOX
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", _PRODUCTION)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", _PRODUCTION)
# Load balancers check health over plain HTTP on the private side: no redirect for them.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31_536_000 if _PRODUCTION else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", _PRODUCTION)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", False)
# Preloading is a domain-wide commitment browsers ship for months: an internal tool opts in
# deliberately (DJANGO_HSTS_PRELOAD=true) rather than by default, so don't nag about it.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (otherwise SSL redirects loop).
if env_bool("DJANGO_TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# With DJANGO_DEBUG on, the error page lists the settings: mask passwords inside URLs too.
DEFAULT_EXCEPTION_REPORTER_FILTER = "approvals.security.SettingsFilter"

# --- I18N, static -----------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
WHITENOISE_USE_FINDERS = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # httpx logs every request at INFO: the sync worker's passes would drown in it.
    "loggers": {"httpx": {"level": "WARNING"}},
}
