"""Given operations generated from our own schema by hypothesis-graphql (valid ones, and ones
with one schema violation each), when each runs over HTTP with a valid API key, then no answer
is a 500, none shows a traceback, and every error carries extensions.code."""

from __future__ import annotations

import json
from typing import Any

import graphql
import httpx
import pytest
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema

from mailsage_gql.graphql.schema import build_schema
from mailsage_gql.settings import Settings
from tests.support.api import Tenant

POSITIVE = 2000
NEGATIVE = 400
TRACEBACK_MARKS = ("Traceback", 'File "')

#: Our scalars beyond the built-ins: well-formed values and the odd string.
DATETIMES = st.one_of(
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.isoformat()),
    st.text(max_size=30),
).map(lambda s: graphql.StringValueNode(value=s))
DATES = st.one_of(st.dates().map(lambda d: d.isoformat()), st.text(max_size=12)).map(
    lambda s: graphql.StringValueNode(value=s)
)
SCALARS = {"DateTime": DATETIMES, "Date": DATES}


def generate(sdl: str, mode: Mode, count: int) -> list[str]:
    """`count` documents drawn by hypothesis-graphql from `sdl` (queries and mutations)."""
    documents: list[str] = []

    @hypothesis_settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(from_schema(sdl, custom_scalars=SCALARS, mode=mode))
    def collect(document: str) -> None:
        documents.append(document)

    collect()
    return documents


def problems(response: httpx.Response) -> list[str]:
    """What is wrong with one answer: a 500, a traceback, non-JSON, or an uncoded error."""
    found = []
    if response.status_code >= 500:
        found.append(f"status {response.status_code}")
    if any(mark in response.text for mark in TRACEBACK_MARKS):
        found.append("traceback in body")
    try:
        body: Any = response.json()
    except json.JSONDecodeError:
        return [*found, "body is not JSON"]
    for error in body.get("errors") or []:
        if not (error.get("extensions") or {}).get("code"):
            found.append(f"uncoded error {error.get('message')!r}")
        elif error["extensions"]["code"] == "internal_error":
            found.append(f"internal_error at {error.get('path')}")
    return found


@pytest.fixture(scope="session")
def generated() -> dict[Mode, list[str]]:
    """Drawn once per session (generation is most of the cost), run on every database."""
    sdl = str(build_schema(Settings()))
    return {
        Mode.POSITIVE: generate(sdl, Mode.POSITIVE, POSITIVE),
        Mode.NEGATIVE: generate(sdl, Mode.NEGATIVE, NEGATIVE),
    }


@pytest.fixture
async def seeded(client: httpx.AsyncClient, tenant: Tenant) -> Tenant:
    """The tenant has a default config, so generated sendEmail calls reach the queue."""
    response = await client.post(
        "/api/v1/smtp/configs",
        json={"name": "Seed", "host": "smtp.example.com", "port": 587, "from_email": "a@b.example"},
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    return tenant


async def run_all(
    client: httpx.AsyncClient, tenant: Tenant, documents: list[str]
) -> tuple[int, list[str]]:
    failures = []
    for document in documents:
        response = await client.post("/graphql", json={"query": document}, headers=tenant.headers)
        failures += [f"{p}: {document[:300]!r}" for p in problems(response)]
    return len(documents), failures


@pytest.mark.slow
async def test_generated_valid_operations_never_fail_uncoded(
    client: httpx.AsyncClient, seeded: Tenant, generated: dict[Mode, list[str]]
) -> None:
    documents = generated[Mode.POSITIVE]

    executed, failures = await run_all(client, seeded, documents)

    assert executed >= POSITIVE
    assert failures == []


@pytest.mark.slow
async def test_generated_invalid_operations_are_refused_with_codes(
    client: httpx.AsyncClient, seeded: Tenant, generated: dict[Mode, list[str]]
) -> None:
    documents = generated[Mode.NEGATIVE]

    executed, failures = await run_all(client, seeded, documents)

    assert executed >= NEGATIVE
    assert failures == []
