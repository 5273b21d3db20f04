"""A real HTTP receiver for webhook tests: Starlette behind uvicorn on 127.0.0.1, port 0."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support.api import start_live_server
from tests.support.waiting import eventually


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class WebhookReceiver:
    """Answers each POST with the next status of `statuses` (the last one repeats)."""

    url: str = ""
    statuses: list[int] = field(default_factory=lambda: [200])
    received: list[Received] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """The requests once there are `count`: what the receiver saw, not what the sender
        recorded (wait for the delivery's state for that)."""

        async def read() -> list[Received]:
            return self.received

        return await eventually(
            read, lambda r: len(r) >= count, timeout=timeout, what=f"{count} webhook requests"
        )


def verify_signature(secret: str, headers: dict[str, str], body: bytes) -> list[bool]:
    """The Standard Webhooks check, written from the documented algorithm: for each
    space-separated `v1,<base64>` signature, is it HMAC-SHA256 over `id.timestamp.body`
    keyed with the base64 after `whsec_`?"""
    key = base64.b64decode(secret.split("_", 1)[1])
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    results = []
    for signature in headers["webhook-signature"].split(" "):
        version, _, value = signature.partition(",")
        results.append(version == "v1" and hmac.compare_digest(value, expected))
    return results


@pytest.fixture
async def webhook_receiver() -> AsyncIterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    loop = asyncio.get_running_loop()

    async def hook(request: Request) -> Response:
        body = await request.body()
        receiver.received.append(Received(dict(request.headers), body, loop.time()))
        index = min(len(receiver.received), len(receiver.statuses)) - 1
        status = receiver.statuses[index]
        headers = {"location": "http://127.0.0.1:9/elsewhere"} if 300 <= status < 400 else {}
        return Response(f"status {status}", status_code=status, headers=headers)

    app = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    live, task = await start_live_server(app)
    receiver.url = live.url + "/hook"
    try:
        yield receiver
    finally:
        live.server.should_exit = True
        await task
