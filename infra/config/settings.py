"""Typed process settings, read once from the environment.

Every setting Vangnet reads from the environment is defined (and documented) here, so the rest of
the code takes a :class:`Settings` object and never touches ``os.environ`` itself. That keeps
tests honest (they build settings from a plain dict) and makes the full list of knobs reviewable
in one place.

Environment variables:

``DATABASE_URL``
    PostgreSQL connection URL (``postgresql://user:pass@host:5432/dbname``). Optional: when it is
    unset Vangnet runs in *embedded mode* and starts PostgreSQL from the ``pgserver`` wheel in
    ``<VANGNET_DATA_DIR>/pg``.
``VANGNET_DATA_DIR``
    Local data directory (embedded database, generated master key). Default ``./.vangnet``.
``VANGNET_MASTER_KEY``
    Base64 of 32 random bytes. It wraps every school's data key (DESIGN.md §5), so losing it loses
    all case data. Required when ``DATABASE_URL`` is set. In embedded mode, when unset, a key is
    generated once and kept in ``<VANGNET_DATA_DIR>/master.key`` (file mode 0600).
``VANGNET_POOL_SIZE``
    Maximum number of connections of the ONE process-wide pool, however many schools exist.
    Default 10.
``BROKER_URL``
    Dramatiq broker URL: ``amqp://user:pass@host:5672/vhost`` (RabbitMQ) or
    ``redis://host:6379/0`` (Redis). Optional; unset means the in-process stub broker (embedded
    mode and the demo: jobs run in the same process).
``VANGNET_QUEUE_NAMESPACE``
    Prefix of every queue name (``<namespace>.projections``) and, on Redis, the key namespace.
    Default ``vangnet``. Two deployments sharing one broker need different namespaces.
``VANGNET_WORKER_THREADS``
    Worker threads of ``vangnet worker`` (jobs processed at once per process). Default 4.
``VANGNET_SWEEP_SECONDS``
    How often ``vangnet worker`` looks for schools whose projections lag their log and catches
    them up (the safety net for lost messages). Default 30.
``VANGNET_MAIL_SWEEP_SECONDS``
    How often ``vangnet worker`` sends every school's due aftercare reminders (date-driven) and
    any notification whose hint was lost. Every e-mail is claimed once, so repeats are safe.
    Default 900.
``VANGNET_CHECKPOINT_SECONDS``
    How often ``vangnet worker`` records the head of every log's hash chain (and of every
    school's access log) in ``platform.chain_checkpoints`` and in ``VANGNET_CHECKPOINT_DIR``
    (only heads that moved); the in-process worker of embedded mode and the demo does the same.
    Events written after the last checkpoint could be cut off the end unseen, so this is the
    window of that risk. Default 300.
``VANGNET_CHECKPOINT_DIR``
    Where every checkpoint is also written, outside the database: one append-only file of
    signed JSON lines per log (``<log>.jsonl``). ``vangnet audit verify`` compares the
    database's checkpoints with these copies, so someone who can write the database cannot
    delete a checkpoint unseen. Every process that records checkpoints (``vangnet worker``, the
    web app in embedded mode, ``vangnet tenants offboard``) and the one that verifies must see
    the same directory; keep it where the database's users cannot write (a separate volume,
    ``chattr +a``, a log shipper). Default ``<VANGNET_DATA_DIR>/checkpoints``.
``VANGNET_JOB_MAX_RETRIES``
    How many times a failing job is retried (exponential backoff) before it is dead-lettered.
    Default 5.
``VANGNET_JOB_MIN_BACKOFF_MS`` / ``VANGNET_JOB_MAX_BACKOFF_MS``
    Bounds of the retry backoff in milliseconds. Defaults 1000 and 300000 (5 minutes).
``VANGNET_JOB_TIME_LIMIT_MS``
    A job still running after this many milliseconds is interrupted (and retried). Default
    600000 (10 minutes).
``VANGNET_SMTP_HOST``
    SMTP server for notification e-mails (new reports, complaints, aftercare reminders). Optional:
    unset means nothing is mailed, only logged (kind and ids; embedded mode and the demo).
``VANGNET_SMTP_PORT``
    SMTP port. Default by ``VANGNET_SMTP_TLS``: 25 (none), 587 (starttls), 465 (ssl).
``VANGNET_SMTP_TLS``
    ``none``, ``starttls`` or ``ssl`` (implicit TLS). Default ``starttls``.
``VANGNET_SMTP_USER`` / ``VANGNET_SMTP_PASSWORD``
    SMTP login. Optional (unset: no login, e.g. a local relay). The password is never printed.
``VANGNET_MAIL_FROM``
    Sender address of notification e-mails. Required when ``VANGNET_SMTP_HOST`` is set.
``VANGNET_PUBLIC_URL``
    Base URL of the web app, for the links in e-mails (``<url>/cases/<case id>``). Default
    ``http://127.0.0.1:8000``.
``VANGNET_REMINDER_DAYS``
    How many days before an aftercare moment or agreement review the case owner gets a
    reminder (0: on the day itself). Default 2.
``VANGNET_APP_CACHE``
    How many per-school casework applications a process keeps constructed (LRU). Default 256.
``VANGNET_SECRET_KEY``
    Base64 of at least 32 random bytes: signs CSRF tokens (and derives the development identity
    provider's client secret). Optional: by default it is derived from the master key, which
    every process of a deployment already shares; set it to rotate it independently.
``VANGNET_HOST`` / ``VANGNET_PORT``
    Where ``vangnet serve`` listens (``VANGNET_HOST`` also for the worker's health endpoints).
    Defaults ``127.0.0.1`` and ``8000``.
``VANGNET_WORKER_HEALTH_PORT``
    Port of ``vangnet worker``'s ``/health/live`` and ``/health/ready`` (for container
    probes, :mod:`infra.entrypoints.worker.health`). Unset (default): no health endpoints.
``VANGNET_WEB_WORKERS``
    Worker processes of ``vangnet serve`` (uvicorn's ``--workers``; each process builds its
    own app from the environment, :mod:`infra.entrypoints.web.asgi`). More than 1 needs
    ``DATABASE_URL``
    (the embedded database belongs to one process). Default 1.
``VANGNET_TRUSTED_PROXIES``
    Comma-separated addresses or CIDR blocks of the reverse proxies in front of the web app
    (``10.0.0.0/8``, ``127.0.0.1``). Only connections from these may set the client's address
    and scheme with ``X-Forwarded-For`` / ``X-Forwarded-Proto``
    (:mod:`infra.entrypoints.web.proxy`);
    from anyone else the headers are ignored. Default none.
``VANGNET_DEV_IDP``
    ``1`` mounts the development identity provider at ``/dev-idp`` (demo users, no passwords).
    Development only: refused unless the database is the embedded one or
    ``VANGNET_DEV_IDP_UNSAFE=1`` is also set (the tests do that). Default off; ``vangnet demo``
    turns it on.
``VANGNET_OPERATOR_ISSUER`` / ``VANGNET_OPERATOR_CLIENT_ID`` / ``VANGNET_OPERATOR_SECRET_REF``
    The platform operator's OpenID provider (issuer URL, client id, and a secret reference
    ``env:NAME`` or ``file:/path``). Unset: no operator login. The issuer and the reference
    follow the same rules as the schools' (below), checked at start-up and at every login.
``VANGNET_OPERATOR_GROUP``
    The value of the ``groups`` claim that makes someone a platform operator. Default
    ``vangnet-operators``.
``VANGNET_SECRET_ENV_PREFIX``
    Environment variables a client-secret reference (``env:NAME``, a school's ``secret_ref`` or
    ``VANGNET_OPERATOR_SECRET_REF``) may name must start with this prefix (the prefix alone is
    not a name). Default ``VANGNET_IDP_SECRET_``. It must end with ``_`` and no Vangnet
    setting may start with it: the operator role must never reach the master key.
``VANGNET_SECRETS_DIR``
    Absolute directory (e.g. mounted Kubernetes or Docker secrets) whose files a reference
    ``file:/path`` may name: no ``.``/``..`` segments, no symlink resolving outside it, regular
    files only, never inside ``VANGNET_DATA_DIR``. Unset (default): no ``file:`` references.
``VANGNET_LOOPBACK_ISSUERS``
    ``1`` allows identity providers on this machine (``http://127.0.0.1:…``, ``localhost``) as
    issuers. Development and tests only (the browser tests and the benchmark set it; the
    development identity provider implies it). Default off: issuers must be https on a public
    host.
``VANGNET_METRICS_TOKEN``
    Bearer token (at least 32 characters) the Prometheus scraper sends to ``/metrics``
    (``Authorization: Bearer …``). Unset (default): ``/metrics`` answers 404.
``VANGNET_LOG_LEVEL``
    Log level of the processes the CLI starts (``vangnet worker``): ``DEBUG``, ``INFO``,
    ``WARNING``, ``ERROR`` or ``CRITICAL``. Default ``INFO``.
``VANGNET_DEMO_ALLOW_RESET``
    ``1`` lets ``vangnet demo --reset`` drop every school of a real database (``DATABASE_URL``
    set). Default off: the reset then refuses (with the embedded database it only removes the
    data directory).
``VANGNET_CLAMD_ADDRESS``
    Where ClamAV's ``clamd`` listens; every attachment is scanned there before it is stored:
    ``unix:///run/clamav/clamd.ctl`` (or the plain socket path) or ``tcp://host:3310``. Unset:
    attachments are refused (with a Dutch message saying no scanner is configured), except in
    embedded mode (the demo), where they are accepted unscanned.
``VANGNET_ATTACHMENT_MAX_BYTES``
    The largest attachment taken (bytes); the upload route's body limit follows it. Default
    20971520 (20 MB).
``VANGNET_REPORT_RATE_STORAGE``
    Where the public report form's rate limits count (the ``limits`` library): ``memory://``
    (default; per process, fine for one process and the embedded demo) or a ``redis://`` URL
    (shared by all web processes; use it when running more than one).
``VANGNET_REPORT_RATE_PER_ADDRESS``
    New public reports per network address. Default ``5/hour``.
``VANGNET_CODE_RATE_PER_ADDRESS``
    Follow-up attempts with a code (right or wrong) per network address. Default ``30/hour``.
``VANGNET_CODE_RATE_PER_CODE``
    Follow-up attempts per code (per case the code names). Default ``20/hour``.
``PROMETHEUS_MULTIPROC_DIR``
    Not Vangnet's own (prometheus_client's): when set, ``/metrics`` collects the metrics of
    every process writing to that directory. ``vangnet serve --workers N`` (N > 1) sets it to a
    fresh directory of its own when it is unset; when you set it, give every ``vangnet serve``
    its own empty directory (a Kubernetes ``emptyDir``, a container's tmpfs).

Client secrets of identity providers are read through the settings too: ``env:NAME``
references can only ever see the variables that start with ``VANGNET_SECRET_ENV_PREFIX``
(captured here, never the rest of the environment).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import limits

from tenants.login import DEFAULT_SECRET_ENV_PREFIX, InvalidLoginConfig, LoginPolicy

MASTER_KEY_BYTES = 32
MASTER_KEY_FILENAME = "master.key"
_NAMESPACE_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,62}")
_ENV_PREFIX_RE = re.compile(r"[A-Z][A-Z0-9_]{1,62}_")
MIN_METRICS_TOKEN = 32

#: Every environment variable Vangnet reads as a setting (documented above). None of them may
#: ever be named by a secret reference, whatever VANGNET_SECRET_ENV_PREFIX says.
SETTING_NAMES = frozenset(
    {
        "DATABASE_URL",
        "BROKER_URL",
        "VANGNET_DATA_DIR",
        "VANGNET_MASTER_KEY",
        "VANGNET_POOL_SIZE",
        "VANGNET_APP_CACHE",
        "VANGNET_QUEUE_NAMESPACE",
        "VANGNET_WORKER_THREADS",
        "VANGNET_SWEEP_SECONDS",
        "VANGNET_MAIL_SWEEP_SECONDS",
        "VANGNET_CHECKPOINT_SECONDS",
        "VANGNET_CHECKPOINT_DIR",
        "VANGNET_JOB_MAX_RETRIES",
        "VANGNET_JOB_MIN_BACKOFF_MS",
        "VANGNET_JOB_MAX_BACKOFF_MS",
        "VANGNET_JOB_TIME_LIMIT_MS",
        "VANGNET_SMTP_HOST",
        "VANGNET_SMTP_PORT",
        "VANGNET_SMTP_TLS",
        "VANGNET_SMTP_USER",
        "VANGNET_SMTP_PASSWORD",
        "VANGNET_MAIL_FROM",
        "VANGNET_PUBLIC_URL",
        "VANGNET_REMINDER_DAYS",
        "VANGNET_SECRET_KEY",
        "VANGNET_HOST",
        "VANGNET_PORT",
        "VANGNET_WEB_WORKERS",
        "VANGNET_WORKER_HEALTH_PORT",
        "VANGNET_TRUSTED_PROXIES",
        "VANGNET_DEV_IDP",
        "VANGNET_DEV_IDP_UNSAFE",
        "VANGNET_OPERATOR_ISSUER",
        "VANGNET_OPERATOR_CLIENT_ID",
        "VANGNET_OPERATOR_SECRET_REF",
        "VANGNET_OPERATOR_GROUP",
        "VANGNET_SECRET_ENV_PREFIX",
        "VANGNET_SECRETS_DIR",
        "VANGNET_LOOPBACK_ISSUERS",
        "VANGNET_METRICS_TOKEN",
        "VANGNET_LOG_LEVEL",
        "VANGNET_DEMO_ALLOW_RESET",
        "VANGNET_CLAMD_ADDRESS",
        "VANGNET_ATTACHMENT_MAX_BYTES",
        "VANGNET_REPORT_RATE_STORAGE",
        "VANGNET_REPORT_RATE_PER_ADDRESS",
        "VANGNET_CODE_RATE_PER_ADDRESS",
        "VANGNET_CODE_RATE_PER_CODE",
    }
)


class SettingsError(ValueError):
    """A setting is missing or malformed. The message names the variable, never its value."""


@dataclass(frozen=True)
class Settings:
    """Everything a Vangnet process is configured with. Build it with :meth:`from_env`."""

    #: PostgreSQL URL, or ``None`` for the embedded server.
    database_url: str | None
    #: Local data directory (embedded PostgreSQL, generated master key).
    data_dir: Path
    #: The 32-byte master key that wraps the schools' data keys. Never printed.
    master_key: bytes = field(repr=False)
    #: Max connections of the one process-wide pool.
    pool_size: int = 10
    #: Message broker URL; ``None`` means the in-process stub broker.
    broker_url: str | None = None
    #: How many school applications to keep constructed (LRU).
    app_cache_size: int = 256
    #: Queue-name prefix (and Redis key namespace) of this deployment's jobs.
    queue_namespace: str = "vangnet"
    #: Worker threads of ``vangnet worker``.
    worker_threads: int = 4
    #: Seconds between two sweeps for lagging projections.
    sweep_seconds: int = 30
    #: Seconds between two mail sweeps (due reminders, notifications whose hint was lost).
    mail_sweep_seconds: int = 900
    #: Seconds between two checkpoints of every log's chain head (tamper evidence).
    checkpoint_seconds: int = 300
    #: Retries of a failing job before it is dead-lettered.
    job_max_retries: int = 5
    #: Retry backoff bounds (milliseconds).
    job_min_backoff_ms: int = 1000
    job_max_backoff_ms: int = 300_000
    #: Time limit of one job (milliseconds).
    job_time_limit_ms: int = 600_000
    #: Notification e-mail (SMTP); ``smtp_host`` ``None`` means log only, send nothing.
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_tls: str = "starttls"  # none | starttls | ssl
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    mail_from: str = "vangnet@localhost"
    #: Base URL of the web app, for links in e-mails.
    public_url: str = "http://127.0.0.1:8000"
    #: Days before a due date that the case owner is reminded.
    reminder_days_before: int = 2
    #: Signs CSRF tokens; the same in every web process of a deployment. Never printed.
    secret_key: bytes = field(default=b"", repr=False)
    #: Where ``vangnet serve`` listens.
    host: str = "127.0.0.1"
    port: int = 8000
    #: Mount the development identity provider (demo and tests only).
    dev_idp: bool = False
    #: The platform operator's OpenID provider; ``None`` issuer means no operator login.
    operator_issuer: str | None = None
    operator_client_id: str | None = None
    operator_secret_ref: str | None = None
    operator_group: str = "vangnet-operators"
    #: Secret references may name environment variables with this prefix only.
    secret_env_prefix: str = DEFAULT_SECRET_ENV_PREFIX
    #: Secret references may name files in this directory only (``None``: no files).
    secrets_dir: Path | None = None
    #: Identity providers on this machine are allowed (development and tests only).
    loopback_issuers: bool = False
    #: Bearer token of the metrics scraper; ``None``: ``/metrics`` answers 404. Never printed.
    metrics_token: str | None = field(default=None, repr=False)
    #: The environment variables with ``secret_env_prefix`` (name, value): the only ones an
    #: ``env:`` secret reference can ever read. Never printed.
    secret_env: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    #: prometheus_client's multi-process mode is on (``PROMETHEUS_MULTIPROC_DIR`` is set).
    metrics_multiprocess: bool = False
    #: Log level of the processes the CLI starts (``vangnet worker``).
    log_level: str = "INFO"
    #: ``vangnet demo --reset`` may drop every school of a real database.
    demo_allow_reset: bool = False

    # --- Tamper evidence (issue #10 §5) ---
    #: The outside copy of the checkpoints; ``None``: ``<data_dir>/checkpoints``.
    checkpoint_dir: Path | None = None

    # --- Production web serving (issue #13) ---
    #: Worker processes of ``vangnet serve``.
    web_workers: int = 1
    #: Port of ``vangnet worker``'s health endpoints; ``None``: none.
    worker_health_port: int | None = None
    #: Reverse proxies (addresses or CIDR blocks, normalised) whose forwarded headers count.
    trusted_proxies: tuple[str, ...] = ()
    #: The directory of every process's metric files (``PROMETHEUS_MULTIPROC_DIR``).
    metrics_dir: Path | None = None

    # --- Evidence attachments (issue 14) ---
    #: ClamAV's clamd (``unix:///path``, a socket path or ``tcp://host:port``); ``None``: none.
    clamd_address: str | None = None
    #: The largest attachment taken (bytes).
    attachment_max_bytes: int = 20 * 1024 * 1024
    # --- Public reports (issue 14 §3) ---
    #: Where the rate limits count (the ``limits`` library's storage URI): ``memory://`` (one
    #: process; the embedded demo) or ``redis://host:6379/0`` (shared by every web process).
    report_rate_storage: str = field(default="memory://", repr=False)
    #: New reports through a school's public form, per network address (``limits`` notation).
    report_rate_per_address: str = "5/hour"
    #: Follow-up attempts (reading or writing with a code, right or wrong) per network address.
    code_rate_per_address: str = "30/hour"
    #: Follow-up attempts per code (counted per case the code names: guessing one case's secret).
    code_rate_per_code: str = "20/hour"

    @property
    def checkpoint_path(self) -> Path:
        """Where the outside copy of the checkpoints is written (``VANGNET_CHECKPOINT_DIR``)."""
        return self.checkpoint_dir or self.data_dir / "checkpoints"

    @property
    def embedded(self) -> bool:
        """Whether the database is the embedded ``pgserver`` one (no ``DATABASE_URL``)."""
        return self.database_url is None

    def secret_from_env(self, name: str) -> str | None:
        """The value of the environment variable ``name`` if it has the secret prefix."""
        if not name.startswith(self.secret_env_prefix) or name in SETTING_NAMES:
            return None
        return dict(self.secret_env).get(name)

    @property
    def login_policy(self) -> LoginPolicy:
        """Where login configurations may point in this deployment (tenants.login): the
        secret prefix and directory, never the data directory or Vangnet's own settings,
        loopback issuers and ``dev:`` only for development."""
        return LoginPolicy(
            secret_env_prefix=self.secret_env_prefix,
            secrets_dir=None if self.secrets_dir is None else str(self.secrets_dir),
            protected_paths=(str(self.data_dir),),
            reserved_env_names=SETTING_NAMES,
            loopback_issuers=self.loopback_issuers or self.dev_idp,
            dev_secret=self.dev_idp,
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from ``environ`` (default: ``os.environ``).

        In embedded mode without ``VANGNET_MASTER_KEY`` this creates the data directory and the
        master key file on first use (side effect on purpose: a fresh machine runs with one
        command).
        """
        env = os.environ if environ is None else environ
        database_url = env.get("DATABASE_URL") or None
        data_dir = Path(env.get("VANGNET_DATA_DIR") or "./.vangnet").expanduser().absolute()
        pool_size = _positive_int(env, "VANGNET_POOL_SIZE", 10)
        app_cache_size = _positive_int(env, "VANGNET_APP_CACHE", 256)
        broker_url = env.get("BROKER_URL") or None
        queue_namespace = env.get("VANGNET_QUEUE_NAMESPACE") or "vangnet"
        if not _NAMESPACE_RE.fullmatch(queue_namespace):
            msg = "VANGNET_QUEUE_NAMESPACE must be letters, digits, '_' or '-' (letter first)"
            raise SettingsError(msg)

        encoded_key = env.get("VANGNET_MASTER_KEY") or None
        if encoded_key is not None:
            master_key = decode_master_key(encoded_key, source="VANGNET_MASTER_KEY")
        elif database_url is None:
            master_key = load_or_create_master_key(data_dir)
        else:
            msg = "VANGNET_MASTER_KEY must be set when DATABASE_URL is set"
            raise SettingsError(msg)

        encoded_secret = env.get("VANGNET_SECRET_KEY") or None
        if encoded_secret is not None:
            secret_key = _decode_secret(encoded_secret)
        else:
            secret_key = derive_secret_key(master_key)
        dev_idp = _flag(env, "VANGNET_DEV_IDP")
        if dev_idp and database_url is not None and not _flag(env, "VANGNET_DEV_IDP_UNSAFE"):
            msg = (
                "VANGNET_DEV_IDP is for development only: it lets anyone log in as a demo user; "
                "it is refused with DATABASE_URL unless VANGNET_DEV_IDP_UNSAFE=1"
            )
            raise SettingsError(msg)

        settings = cls(
            secret_key=secret_key,
            host=env.get("VANGNET_HOST") or "127.0.0.1",
            port=_positive_int(env, "VANGNET_PORT", 8000),
            dev_idp=dev_idp,
            operator_issuer=env.get("VANGNET_OPERATOR_ISSUER") or None,
            operator_client_id=env.get("VANGNET_OPERATOR_CLIENT_ID") or None,
            operator_secret_ref=env.get("VANGNET_OPERATOR_SECRET_REF") or None,
            operator_group=env.get("VANGNET_OPERATOR_GROUP") or "vangnet-operators",
            database_url=database_url,
            data_dir=data_dir,
            master_key=master_key,
            pool_size=pool_size,
            broker_url=broker_url,
            app_cache_size=app_cache_size,
            queue_namespace=queue_namespace,
            worker_threads=_positive_int(env, "VANGNET_WORKER_THREADS", 4),
            sweep_seconds=_positive_int(env, "VANGNET_SWEEP_SECONDS", 30),
            mail_sweep_seconds=_positive_int(env, "VANGNET_MAIL_SWEEP_SECONDS", 900),
            checkpoint_seconds=_positive_int(env, "VANGNET_CHECKPOINT_SECONDS", 300),
            job_max_retries=_non_negative_int(env, "VANGNET_JOB_MAX_RETRIES", 5),
            job_min_backoff_ms=_positive_int(env, "VANGNET_JOB_MIN_BACKOFF_MS", 1000),
            job_max_backoff_ms=_positive_int(env, "VANGNET_JOB_MAX_BACKOFF_MS", 300_000),
            job_time_limit_ms=_positive_int(env, "VANGNET_JOB_TIME_LIMIT_MS", 600_000),
            secret_env_prefix=(prefix := _secret_env_prefix(env)),
            secret_env=tuple(
                sorted(
                    (name, value)
                    for name, value in env.items()
                    if name.startswith(prefix) and name != prefix and name not in SETTING_NAMES
                )
            ),
            metrics_multiprocess=bool(
                env.get("PROMETHEUS_MULTIPROC_DIR") or env.get("prometheus_multiproc_dir")
            ),
            secrets_dir=_secrets_dir(env),
            loopback_issuers=_flag(env, "VANGNET_LOOPBACK_ISSUERS"),
            metrics_token=_metrics_token(env),
            log_level=_log_level(env),
            demo_allow_reset=_flag(env, "VANGNET_DEMO_ALLOW_RESET"),
            clamd_address=(env.get("VANGNET_CLAMD_ADDRESS") or "").strip() or None,
            attachment_max_bytes=_positive_int(
                env, "VANGNET_ATTACHMENT_MAX_BYTES", 20 * 1024 * 1024
            ),
            **_report_settings(env),
            **_mail_settings(env),
            **_audit_settings(env),
            **_web_settings(env, embedded=database_url is None),
        )
        _check_operator_login(settings)
        return settings


def _rate(env: Mapping[str, str], name: str, default: str) -> str:
    value = (env.get(name) or "").strip() or default
    try:
        limits.parse(value)
    except ValueError:
        msg = f"{name} must be a rate such as '5/hour' or '10 per minute'"
        raise SettingsError(msg) from None
    return value


def _report_settings(env: Mapping[str, str]) -> dict[str, Any]:
    storage = (env.get("VANGNET_REPORT_RATE_STORAGE") or "").strip() or "memory://"
    if not storage.startswith(("memory://", "redis://", "rediss://", "redis+unix://")):
        msg = "VANGNET_REPORT_RATE_STORAGE must be memory:// or a redis:// URL"
        raise SettingsError(msg)
    return {
        "report_rate_storage": storage,
        "report_rate_per_address": _rate(env, "VANGNET_REPORT_RATE_PER_ADDRESS", "5/hour"),
        "code_rate_per_address": _rate(env, "VANGNET_CODE_RATE_PER_ADDRESS", "30/hour"),
        "code_rate_per_code": _rate(env, "VANGNET_CODE_RATE_PER_CODE", "20/hour"),
    }


def _secret_env_prefix(env: Mapping[str, str]) -> str:
    prefix = (env.get("VANGNET_SECRET_ENV_PREFIX") or DEFAULT_SECRET_ENV_PREFIX).strip()
    if not _ENV_PREFIX_RE.fullmatch(prefix):
        msg = (
            "VANGNET_SECRET_ENV_PREFIX must be 3-64 capital letters, digits or '_', "
            "start with a letter and end with '_'"
        )
        raise SettingsError(msg)
    if any(name.startswith(prefix) for name in SETTING_NAMES):
        msg = "VANGNET_SECRET_ENV_PREFIX must not be the start of one of Vangnet's own settings"
        raise SettingsError(msg)
    return prefix


def _secrets_dir(env: Mapping[str, str]) -> Path | None:
    raw = (env.get("VANGNET_SECRETS_DIR") or "").strip()
    if not raw:
        return None
    segments = raw.rstrip("/").split("/")[1:]
    if not raw.startswith("/") or any(part in ("", ".", "..") for part in segments):
        msg = "VANGNET_SECRETS_DIR must be an absolute path without '.' or '..' segments"
        raise SettingsError(msg)
    if not segments:
        msg = "VANGNET_SECRETS_DIR must be a directory of its own, not /"
        raise SettingsError(msg)
    return Path(raw.rstrip("/"))


def _metrics_token(env: Mapping[str, str]) -> str | None:
    token = (env.get("VANGNET_METRICS_TOKEN") or "").strip()
    if not token:
        return None
    if len(token) < MIN_METRICS_TOKEN or any(c.isspace() for c in token):
        msg = f"VANGNET_METRICS_TOKEN must be at least {MIN_METRICS_TOKEN} characters, no spaces"
        raise SettingsError(msg)
    return token


def _check_operator_login(settings: Settings) -> None:
    """The operator's provider follows the schools' rules (refused at start-up, not at login)."""
    policy = settings.login_policy
    try:
        if settings.operator_issuer is not None:
            policy.check_issuer(settings.operator_issuer, field="VANGNET_OPERATOR_ISSUER")
        if settings.operator_secret_ref is not None:
            policy.check_secret_ref(
                settings.operator_secret_ref, field="VANGNET_OPERATOR_SECRET_REF"
            )
    except InvalidLoginConfig as error:
        raise SettingsError(str(error)) from None


def _audit_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """The tamper-evidence settings (``VANGNET_CHECKPOINT_DIR``)."""
    raw = (env.get("VANGNET_CHECKPOINT_DIR") or "").strip()
    return {"checkpoint_dir": Path(raw).expanduser().absolute() if raw else None}


def _web_settings(env: Mapping[str, str], *, embedded: bool) -> dict[str, Any]:
    """How ``vangnet serve`` and ``vangnet worker`` run in production (``VANGNET_WEB_WORKERS``,
    ``VANGNET_TRUSTED_PROXIES``, ``VANGNET_WORKER_HEALTH_PORT``, the metrics directory)."""
    workers = _positive_int(env, "VANGNET_WEB_WORKERS", 1)
    if workers > 1 and embedded:
        msg = "VANGNET_WEB_WORKERS above 1 needs DATABASE_URL (the embedded database serves one)"
        raise SettingsError(msg)
    proxies = []
    for entry in (env.get("VANGNET_TRUSTED_PROXIES") or "").split(","):
        if not entry.strip():
            continue
        try:
            proxies.append(str(ipaddress.ip_network(entry.strip(), strict=False)))
        except ValueError:
            msg = "VANGNET_TRUSTED_PROXIES must be IP addresses or CIDR blocks, comma-separated"
            raise SettingsError(msg) from None
    metrics_dir = env.get("PROMETHEUS_MULTIPROC_DIR") or env.get("prometheus_multiproc_dir")
    health_port = (env.get("VANGNET_WORKER_HEALTH_PORT") or "").strip()
    return {
        "web_workers": workers,
        "worker_health_port": (
            _positive_int(env, "VANGNET_WORKER_HEALTH_PORT", 0) if health_port else None
        ),
        "trusted_proxies": tuple(proxies),
        "metrics_dir": Path(metrics_dir) if metrics_dir else None,
    }


def _non_negative_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        msg = f"{name} must be a whole number (0 or more)"
        raise SettingsError(msg)
    return value


SMTP_TLS_MODES = {"none": 25, "starttls": 587, "ssl": 465}  # mode -> default port


def _mail_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """The notification e-mail settings (``VANGNET_SMTP_*``, ``VANGNET_MAIL_FROM``, ...)."""
    host = (env.get("VANGNET_SMTP_HOST") or "").strip() or None
    tls = (env.get("VANGNET_SMTP_TLS") or "starttls").strip().lower()
    if tls not in SMTP_TLS_MODES:
        msg = "VANGNET_SMTP_TLS must be one of: none, starttls, ssl"
        raise SettingsError(msg)
    mail_from = (env.get("VANGNET_MAIL_FROM") or "").strip()
    if host and "@" not in mail_from:
        msg = "VANGNET_MAIL_FROM must be set to an e-mail address when VANGNET_SMTP_HOST is set"
        raise SettingsError(msg)
    public_url = (env.get("VANGNET_PUBLIC_URL") or "http://127.0.0.1:8000").strip().rstrip("/")
    if not public_url.startswith(("http://", "https://")):
        msg = "VANGNET_PUBLIC_URL must start with http:// or https://"
        raise SettingsError(msg)
    raw_days = (env.get("VANGNET_REMINDER_DAYS") or "2").strip()
    if not raw_days.isdigit():
        msg = "VANGNET_REMINDER_DAYS must be a whole number (0 or more)"
        raise SettingsError(msg)
    return {
        "smtp_host": host,
        "smtp_port": _positive_int(env, "VANGNET_SMTP_PORT", SMTP_TLS_MODES[tls]),
        "smtp_tls": tls,
        "smtp_user": env.get("VANGNET_SMTP_USER") or None,
        "smtp_password": env.get("VANGNET_SMTP_PASSWORD") or None,
        "mail_from": mail_from or "vangnet@localhost",
        "public_url": public_url,
        "reminder_days_before": int(raw_days),
    }


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        msg = f"{name} must be a positive integer"
        raise SettingsError(msg) from None
    if value < 1:
        msg = f"{name} must be a positive integer"
        raise SettingsError(msg)
    return value


def derive_secret_key(master_key: bytes) -> bytes:
    """The default web secret: a one-way derivation, so it never reveals the master key."""
    return hashlib.sha256(b"vangnet-web-secret\x00" + master_key).digest()


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _log_level(env: Mapping[str, str]) -> str:
    level = (env.get("VANGNET_LOG_LEVEL") or "INFO").strip().upper()
    if level not in LOG_LEVELS:
        msg = f"VANGNET_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}"
        raise SettingsError(msg)
    return level


def _flag(env: Mapping[str, str], name: str) -> bool:
    value = (env.get(name) or "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    msg = f"{name} must be 1 or 0"
    raise SettingsError(msg)


def _decode_secret(encoded: str) -> bytes:
    try:
        key = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        msg = "VANGNET_SECRET_KEY is not valid base64"
        raise SettingsError(msg) from None
    if len(key) < MASTER_KEY_BYTES:
        msg = f"VANGNET_SECRET_KEY must decode to at least {MASTER_KEY_BYTES} bytes"
        raise SettingsError(msg)
    return key


def decode_master_key(encoded: str, *, source: str) -> bytes:
    """Decode a base64 master key and check it is exactly 32 bytes."""
    try:
        key = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        msg = f"{source} is not valid base64"
        raise SettingsError(msg) from None
    if len(key) != MASTER_KEY_BYTES:
        msg = f"{source} must decode to {MASTER_KEY_BYTES} bytes"
        raise SettingsError(msg)
    return key


def load_or_create_master_key(data_dir: Path) -> bytes:
    """Return the embedded-mode master key, generating ``<data_dir>/master.key`` the first time.

    The file is created with ``O_EXCL`` and mode 0600, so two processes starting at once cannot
    both write a different key, and no other local user can read it.
    """
    path = data_dir / MASTER_KEY_FILENAME
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        encoded = base64.b64encode(secrets.token_bytes(MASTER_KEY_BYTES))
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process won the race: read its key below
        else:
            with os.fdopen(fd, "wb") as f:
                f.write(encoded + b"\n")
    return decode_master_key(path.read_text(encoding="ascii"), source=str(path))
