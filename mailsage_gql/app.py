"""create_app(settings): the composition root; process resources live in lifespan state."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute

from mailsage_gql import console, database
from mailsage_gql.delivery.clock import SYSTEM_CLOCK, Clock
from mailsage_gql.errors import MailsageError
from mailsage_gql.events.hub import EventHub
from mailsage_gql.graphql.view import MailsageGraphQL
from mailsage_gql.rest import emails as rest_emails
from mailsage_gql.rest import smtp_configs as rest_smtp_configs
from mailsage_gql.rest.errors import mailsage_error_handler, unexpected_error_handler
from mailsage_gql.rest.limits import BodySizeLimit
from mailsage_gql.services.accounts import AuthCache
from mailsage_gql.services.engine import Engine, Wakeups, transport_options
from mailsage_gql.services.rate_limit import RateLimiter
from mailsage_gql.services.resources import Resources
from mailsage_gql.services.secrets import load_keyring
from mailsage_gql.settings import Settings


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    resources: Resources = request.app.state.resources
    try:
        await database.ping(resources.settings)
    except Exception as exc:  # any failure means not ready; the reason is for the operator
        return JSONResponse(
            {"status": "unavailable", "database": type(exc).__name__}, status_code=503
        )
    return JSONResponse({"status": "ok", "database": resources.settings.dialect})


async def http_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "bad_request")
    return JSONResponse(
        {"error": {"code": code, "message": str(exc.detail), "field": None}},
        status_code=exc.status_code,
        headers=exc.headers,
    )


def create_app(
    settings: Settings,
    *,
    own_database: bool = True,
    run_sender: bool | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> Starlette:
    """The ASGI app. Loads the keyring first so a missing key refuses to start, clearly.

    `own_database=False` when the caller has opened the ORM already and keeps it open
    (an embedding process, the test suite). `run_sender` (default: settings.serve_sender)
    runs the lease loops (an Engine) in this process for the app's lifetime; `clock` is the
    time its SMTP deliverer decides by.

    :raises ConfigurationError: settings that cannot work.
    """
    keyring = load_keyring(settings)
    hub = EventHub(poll_interval=settings.poll_interval)
    wakeups = Wakeups(settings, hub=hub)
    resources = Resources(
        settings=settings,
        keyring=keyring,
        wakeups=wakeups,
        transport=transport_options(settings),
        hub=hub,
        limiter=RateLimiter(rate=settings.rate_limit_per_second, burst=settings.rate_limit_burst),
        auth_cache=AuthCache(ttl=settings.auth_cache_seconds),
    )
    graphql = MailsageGraphQL(resources)
    sending = settings.serve_sender if run_sender is None else run_sender

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            if own_database:
                await stack.enter_async_context(database.database(settings))
            await hub.start()
            stack.push_async_callback(hub.stop)
            await wakeups.start()  # this process's one LISTEN connection (PostgreSQL)
            stack.push_async_callback(wakeups.stop)
            if sending:
                engine = Engine(settings=settings, keyring=keyring, wakeups=wakeups, clock=clock)
                await engine.start()
                stack.push_async_callback(engine.stop)
            yield

    middleware = [Middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)]
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST", "PATCH", "DELETE"],
                allow_headers=["Authorization", "Content-Type"],
            )
        )
    app = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            *rest_smtp_configs.routes,
            *rest_emails.routes,
            *console.routes(),
        ],
        middleware=middleware,
        exception_handlers={
            MailsageError: mailsage_error_handler,
            HTTPException: http_error_handler,
            Exception: unexpected_error_handler,
        },
        lifespan=lifespan,
    )
    app.state.resources = resources
    return app
