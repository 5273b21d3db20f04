"""Given a `mailsage serve` process that answered a send, when it is killed with SIGKILL the
moment the answer arrives and started again, then the message exists and is delivered: an
answer means a commit, never a promise held in memory."""

from __future__ import annotations

import collections
from typing import Any

import httpx
import pytest

from tests.reliability.conftest import ServerFactory, api_client, env_int, relay_config
from tests.support.processes import prepare_database, process_env
from tests.support.smtp_sink import SinkFactory
from tests.support.waiting import eventually

#: Crash-and-restart rounds of the embedded server (each costs a process start, ~2 s).
ROUNDS = env_int("MAILSAGE_CAMPAIGN_API_ROUNDS", 3)
ENV = process_env({"lease_seconds": 1})
MAIL = {"to": ["ann@example.org"], "subject": "Answered, then killed", "text": "Hi"}


async def send_and_kill(server: Any, api_key: str, **fields: Any) -> dict[str, Any]:
    """POST /api/v1/emails, then kill -9 the server as soon as the answer is in."""
    async with api_client(server.url, api_key) as client:
        response = await client.post("/api/v1/emails", json={**MAIL, **fields})
    server.kill()
    assert response.status_code == 202, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def final_state(
    client: httpx.AsyncClient, message_id: str, *, timeout: float = 8.0
) -> dict[str, Any]:
    """Poll GET /api/v1/emails/{id} until SENT, FAILED or UNCERTAIN; fails after `timeout`."""

    async def read() -> dict[str, Any]:
        response = await client.get(f"/api/v1/emails/{message_id}")
        assert response.status_code == 200, response.text
        message: dict[str, Any] = response.json()
        return message

    return await eventually(
        read,
        lambda m: m["status"] in {"SENT", "FAILED", "UNCERTAIN"},
        timeout=timeout,
        what="the message settled",
    )


async def test_api_only_server_killed_after_answering_keeps_the_message_queued(
    fresh_sqlite_url: str, servers: ServerFactory, smtp_sink: SinkFactory
) -> None:
    # given a server on a fresh SQLite database that only serves (no sender in it)
    sink = await smtp_sink()
    api_key = await prepare_database(fresh_sqlite_url)
    server = await servers(fresh_sqlite_url, serve_sender="false", **ENV)
    async with api_client(server.url, api_key) as client:
        created = await client.post("/api/v1/smtp/configs", json=relay_config(sink.port))
        assert created.status_code == 201, created.text

    # when it is killed the moment it answered a send, and started again
    answer = await send_and_kill(server, api_key)
    await server.start()

    # then the answered message is there, queued, as it was answered
    async with api_client(server.url, api_key) as client:
        response = await client.get(f"/api/v1/emails/{answer['id']}")
    assert response.status_code == 200, response.text
    stored = response.json()
    assert (stored["status"], stored["rfc_message_id"]) == ("QUEUED", answer["rfc_message_id"])
    assert (stored["to"], stored["subject"]) == (MAIL["to"], MAIL["subject"])


async def test_embedded_server_killed_after_answering_delivers_the_message_after_restart(
    fresh_sqlite_url: str, servers: ServerFactory, smtp_sink: SinkFactory
) -> None:
    # given the embedded default (SQLite, sender in process) that has not delivered yet: it
    # only served when it answered
    sink = await smtp_sink()
    api_key = await prepare_database(fresh_sqlite_url)
    server = await servers(fresh_sqlite_url, serve_sender="false", **ENV)
    async with api_client(server.url, api_key) as client:
        created = await client.post("/api/v1/smtp/configs", json=relay_config(sink.port))
        assert created.status_code == 201, created.text

    # when it is killed the moment it answered a send, and started again as the embedded
    # default, sending in process
    answer = await send_and_kill(server, api_key)
    server.env["MAILSAGE_SERVE_SENDER"] = "true"
    await server.start()

    # then the message is delivered, exactly once
    async with api_client(server.url, api_key) as client:
        message = await final_state(client, answer["id"], timeout=4.0)
    assert message["status"] == "SENT", server.log()
    assert [m.message_id for m in sink.messages] == [answer["rfc_message_id"]]


@pytest.mark.slow
async def test_embedded_server_killed_after_each_answer_loses_no_message(
    fresh_sqlite_url: str, servers: ServerFactory, smtp_sink: SinkFactory
) -> None:
    # given the embedded default (SQLite, a sender in the API process) and a provider
    sink = await smtp_sink()
    api_key = await prepare_database(fresh_sqlite_url)
    server = await servers(fresh_sqlite_url, **ENV)
    async with api_client(server.url, api_key) as client:
        created = await client.post("/api/v1/smtp/configs", json=relay_config(sink.port))
        assert created.status_code == 201, created.text

    # when it is killed the moment each answer arrives, and restarted, ROUNDS times
    answers = []
    for round_ in range(ROUNDS):
        answers.append(await send_and_kill(server, api_key, subject=f"Round {round_}"))
        await server.start()

    # then every answered message exists and ends SENT, received exactly once, or UNCERTAIN
    # (its SMTP transaction was under way at the kill), received at most once
    async with api_client(server.url, api_key) as client:
        finals = [await final_state(client, a["id"]) for a in answers]
    # Counted once every message has settled: the last ones are delivered after the restart.
    received = collections.Counter(m.message_id for m in sink.messages)
    for answer, message in zip(answers, finals, strict=True):
        copies = received[answer["rfc_message_id"]]
        assert (message["status"], copies) in {("SENT", 1), ("UNCERTAIN", 0), ("UNCERTAIN", 1)}, (
            message,
            server.log(),
        )
    print(f"embedded kill after answer: {collections.Counter(m['status'] for m in finals)}")


async def test_api_process_killed_after_answering_on_postgres_a_worker_still_delivers(
    fresh_pg_url: str, servers: ServerFactory, process_workers: Any, smtp_sink: SinkFactory
) -> None:
    # given an API process and a separate worker on a fresh PostgreSQL database
    sink = await smtp_sink()
    api_key = await prepare_database(fresh_pg_url)
    server = await servers(fresh_pg_url, serve_sender="false", **ENV)
    async with api_client(server.url, api_key) as client:
        created = await client.post("/api/v1/smtp/configs", json=relay_config(sink.port))
        assert created.status_code == 201, created.text
    await process_workers(fresh_pg_url).start(concurrency=4, env=ENV)

    # when the API process is killed the moment it answered a send, then started again
    answer = await send_and_kill(server, api_key)
    await server.start()

    # then the message exists and was delivered exactly once
    async with api_client(server.url, api_key) as client:
        message = await final_state(client, answer["id"])
    assert message["status"] == "SENT"
    await sink.wait_for_messages(1)
    assert [m.message_id for m in sink.messages] == [answer["rfc_message_id"]]
