"""Fixtures and helpers to drive the app: in-process over httpx, or a real uvicorn on port 0."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from mailsage_gql.app import create_app
from mailsage_gql.services import accounts
from mailsage_gql.settings import Settings
from tests.support import secret_audit
from tests.support.waiting import eventually


@dataclasses.dataclass(frozen=True)
class Tenant:
    account_id: str
    api_key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


async def make_tenant(name: str = "Acme") -> Tenant:
    account, issued = await accounts.create_account(name)
    secret_audit.AUDIT.register(issued.api_key, "API key")
    return Tenant(account_id=str(account.id), api_key=issued.api_key)


@pytest.fixture
def settings(db: Settings) -> Settings:
    return db


@pytest.fixture
def app(settings: Settings) -> Starlette:
    return create_app(settings, own_database=False)


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client speaking to the app in process (no sockets)."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mailsage.test") as c:
        yield c


@pytest.fixture
async def tenant(db: Settings) -> Tenant:
    return await make_tenant("Acme")


@pytest.fixture
async def other_tenant(db: Settings) -> Tenant:
    return await make_tenant("Umbrella")


@dataclasses.dataclass
class LiveServer:
    url: str
    server: uvicorn.Server


async def start_live_server(app: Starlette) -> tuple[LiveServer, asyncio.Task[None]]:
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", lifespan="on", ws="websockets-sansio"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        if task.done():
            task.result()  # it stopped before listening: raise what stopped it
        return bool(server.started)

    await eventually(started, bool, timeout=10, what="uvicorn listening")
    port = server.servers[0].sockets[0].getsockname()[1]
    return LiveServer(url=f"http://127.0.0.1:{port}", server=server), task


@pytest.fixture
async def live_server(app: Starlette) -> AsyncIterator[LiveServer]:
    """The app behind a real uvicorn on a free port, in this event loop."""
    live, task = await start_live_server(app)
    try:
        yield live
    finally:
        live.server.should_exit = True
        await task


GraphQL = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
def gql(client: httpx.AsyncClient) -> GraphQL:
    """POST a GraphQL operation; returns the decoded JSON body."""

    async def run(
        query: str, variables: dict[str, Any] | None = None, *, tenant: Tenant | None = None
    ) -> dict[str, Any]:
        headers = tenant.headers if tenant is not None else {}
        response = await client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        body: dict[str, Any] = response.json()
        return body

    return run
