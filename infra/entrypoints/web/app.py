"""Composition root of the web process: settings -> container -> Litestar app.

``create_app(settings)`` opens everything at start-up (the container, the read pool, the session
table, the in-process worker in embedded mode) and closes it at shutdown. Tests pass an open
``container`` instead; then the app does not own it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx
from litestar import Litestar
from litestar.datastructures import State
from litestar.middleware import DefineMiddleware
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.plugins.prometheus import PrometheusConfig
from litestar.static_files import create_static_files_router
from litestar.stores.registry import StoreRegistry
from litestar.template.config import TemplateConfig

from infra.adapters.auth.discovery import ProviderDirectory
from infra.adapters.auth.oidc import OidcClients
from infra.adapters.auth.sessions import RotatingSessionConfig
from infra.adapters.auth.tokens import BearerValidator
from infra.adapters.monitor_averages import ensure_monitor_table
from infra.bootstrap.container import Container
from infra.config.settings import Settings
from infra.entrypoints.web.api import API_ROUTES
from infra.entrypoints.web.api.openapi import openapi_config
from infra.entrypoints.web.auth.devidp import dev_idp_router, shared_dev_identity_provider
from infra.entrypoints.web.auth.gate import PeopleGate
from infra.entrypoints.web.auth.routes import LOGIN_ROUTES
from infra.entrypoints.web.context import SchoolDirectory, Services
from infra.entrypoints.web.csrf import SessionCsrfMiddleware
from infra.entrypoints.web.edge import MAX_BODY_BYTES, EdgeGuardMiddleware
from infra.entrypoints.web.guards import PUBLIC
from infra.entrypoints.web.health import HEALTH_ROUTES
from infra.entrypoints.web.logs import RequestLogMiddleware
from infra.entrypoints.web.metrics import METRICS_PATH, metrics
from infra.entrypoints.web.options import OptionsMiddleware
from infra.entrypoints.web.pages import PAGE_ROUTES
from infra.entrypoints.web.problems import EXCEPTION_HANDLERS
from infra.entrypoints.web.proxy import ForwardedHeadersMiddleware, parse_networks
from infra.entrypoints.web.scim import SCIM_ROUTES
from infra.entrypoints.web.security import SecurityHeadersMiddleware
from infra.entrypoints.web.sessions import (
    PostgresSessionStore,
    ensure_session_table,
    purge_expired_sessions,
)
from infra.entrypoints.worker.broker import setup_broker_from_settings
from infra.entrypoints.worker.inprocess import start_inprocess_worker

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).parent
SESSION_COOKIE = "vangnet_session"
SESSION_MAX_AGE = 8 * 60 * 60  # a school day


def https_only(settings: Settings) -> bool:
    """Served at an https public URL (behind a TLS proxy): secure cookies and HSTS."""
    return settings.public_url.startswith("https://")


def session_config(settings: Settings) -> RotatingSessionConfig:
    """Server-side sessions in the ``sessions`` store, id rotated at login."""
    return RotatingSessionConfig(
        key=SESSION_COOKIE,
        max_age=SESSION_MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=https_only(settings),
        renew_on_access=True,
        store="sessions",
    )


def create_app(
    settings: Settings,
    *,
    container: Container | None = None,
    http_transport: httpx.AsyncBaseTransport | None = None,
) -> Litestar:
    """The Litestar app. Without ``container`` it opens (and later closes) its own.

    ``http_transport`` (tests) answers the app's calls to identity providers.
    """
    session_store = PostgresSessionStore(None)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        owned = container is None
        opened: Container = container if container is not None else await _open_container(settings)
        worker = None
        purger: asyncio.Task[None] | None = None
        read_pool = await opened.open_read_pool()
        try:
            await ensure_session_table(read_pool)
            await ensure_monitor_table(read_pool)
            session_store.pool = read_pool
            _wire_state(app.state, settings, opened, read_pool, http_transport)
            if owned and settings.broker_url is None:
                worker = await anyio.to_thread.run_sync(
                    lambda: start_inprocess_worker(opened, checkpoints=True)
                )
            elif settings.broker_url is not None:
                # Commands send their catch-up hints to the real broker (`vangnet worker`).
                setup_broker_from_settings(settings)
            purger = asyncio.create_task(purge_expired_sessions(session_store))
            if settings.loopback_issuers:
                log.warning(
                    "VANGNET_LOOPBACK_ISSUERS is on: identity providers on this machine are "
                    "allowed (development and tests only)"
                )
            yield
        finally:
            if purger is not None:
                purger.cancel()
            if worker is not None:
                await anyio.to_thread.run_sync(worker.stop)
            for name in ("oidc", "tokens"):
                client = getattr(app.state, name, None)
                if client is not None:
                    await client.aclose()
            await read_pool.close()
            if owned:
                await anyio.to_thread.run_sync(opened.close)

    route_handlers: list[Any] = [
        *API_ROUTES,
        *SCIM_ROUTES,
        *HEALTH_ROUTES,
        *LOGIN_ROUTES,
        *PAGE_ROUTES,
        metrics,
        create_static_files_router(path="/static", directories=[WEB_DIR / "static"], opt=PUBLIC),
    ]
    if settings.dev_idp:
        route_handlers.append(dev_idp_router(settings))

    prometheus = PrometheusConfig(
        app_name="vangnet", prefix="vangnet", group_path=True, exclude=[METRICS_PATH]
    )
    return Litestar(
        route_handlers=route_handlers,
        lifespan=[lifespan],
        middleware=[
            # First: the client's address and scheme, from trusted proxies only.
            DefineMiddleware(
                ForwardedHeadersMiddleware,
                trusted=parse_networks(settings.trusted_proxies),
            ),
            DefineMiddleware(SecurityHeadersMiddleware, hsts=https_only(settings)),
            RequestLogMiddleware,
            prometheus.middleware,
            session_config(settings).middleware,
            # Before the form parsers and the CSRF check; the upload route's limit follows the
            # attachment setting.
            DefineMiddleware(EdgeGuardMiddleware, upload_max_bytes=settings.attachment_max_bytes),
            OptionsMiddleware,
            # Inside the session middleware: the token is bound to the session
            # (infra.entrypoints.web.csrf).
            SessionCsrfMiddleware(settings.secret_key, SESSION_COOKIE),
        ],
        request_max_body_size=MAX_BODY_BYTES,
        stores=StoreRegistry({"sessions": session_store}),
        template_config=TemplateConfig(directory=WEB_DIR / "templates", engine=JinjaTemplateEngine),
        openapi_config=openapi_config(),
        exception_handlers=EXCEPTION_HANDLERS,
        state=State({"settings": settings}),
    )


async def _open_container(settings: Settings) -> Container:
    return await anyio.to_thread.run_sync(Container.open, settings)


def _wire_state(
    state: State,
    settings: Settings,
    container: Container,
    read_pool: Any,
    http_transport: httpx.AsyncBaseTransport | None,
) -> None:
    services = Services(
        settings=settings,
        container=container,
        read_pool=read_pool,
        directory=SchoolDirectory(container.registry, container),
    )
    state.services = services
    state.settings = settings
    # The school's staff directory: logins and bearer tokens are resolved to its persons.
    state.people = PeopleGate(container)
    state.registry = container.registry
    # One cache of the providers' discovery documents and keys for login and bearer tokens.
    # The development provider answers in-process (no HTTP round trip to ourselves).
    idp = shared_dev_identity_provider(settings) if settings.dev_idp else None
    transport = http_transport or (idp.local_transport() if idp is not None else None)
    directory = ProviderDirectory(
        transport=transport, loopback=settings.login_policy.loopback_issuers
    )
    state.oidc = OidcClients(directory, transport=transport)
    state.tokens = BearerValidator(directory)
    state.dev_idp = idp
