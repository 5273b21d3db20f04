"""Health routes answer without authentication."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from mailsage_gql import database
from mailsage_gql.settings import Settings
from tests.support.recording import ResponseLog, guard_responses


@pytest.fixture(autouse=True)
def responses(client: httpx.AsyncClient) -> Iterator[ResponseLog]:
    yield from guard_responses(client)


async def test_healthz_answers_200_without_a_key(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_readyz_answers_200_when_the_database_answers(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    response = await client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": settings.dialect}


async def test_readyz_answers_503_when_the_database_does_not(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unreachable(settings: Settings) -> None:
        raise ConnectionRefusedError("database down")

    monkeypatch.setattr(database, "ping", unreachable)

    response = await client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
