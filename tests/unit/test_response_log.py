"""The response log used by the API tests does catch a leaked password."""

from __future__ import annotations

import httpx
import pytest

from tests.support.recording import ResponseLog, new_password


def echo(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=request.content)


async def test_a_body_echoing_a_known_password_is_reported() -> None:
    log = ResponseLog()
    password = new_password()
    async with httpx.AsyncClient(transport=httpx.MockTransport(echo)) as client:
        log.watch(client)
        await client.post("http://x.test/", json={"password": password})

    with pytest.raises(AssertionError, match="a password reached a client"):
        log.assert_no_password()


async def test_bodies_without_passwords_pass() -> None:
    log = ResponseLog()
    new_password()
    async with httpx.AsyncClient(transport=httpx.MockTransport(echo)) as client:
        log.watch(client)
        await client.post("http://x.test/", json={"name": "harmless"})

    log.assert_no_password()
    assert len(log.bodies) == 1
