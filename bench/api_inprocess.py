"""Target 4 without HTTP: CPU per `smtpConfigs` request through the ASGI app vs the raw route.

`python -m bench.api_inprocess --requests 3000`, on SQLite (the case the target missed).
Both apps run in this process on one database with 10 configs, called directly (an ASGI
scope, no socket, no other process competing for the CPU), alternating for three rounds;
the best round of each counts. It moves far less than req/s over HTTP on this shared
machine, so the API changes were measured with it; `bench.api` is the target's figure.
(On PostgreSQL both sides measured ~1 ms of CPU a request this way, not explained: use
`bench.api` there.)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from typing import Any

import uvloop

from bench._common import SRC, header, secret_key, table
from bench.api import QUERY

if SRC:
    sys.path.insert(0, SRC)

Scope = dict[str, Any]


def scope(method: str, path: str, key: str, body: bytes) -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"bench"),
            (b"authorization", f"Bearer {key}".encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "state": {},
    }


async def call(app: Any, request: Scope, body: bytes) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(dict(request), receive, send)
    return sent


async def measure(requests: int) -> list[object]:
    url = f"sqlite://{tempfile.mkdtemp()}/db"
    os.environ.update(
        {
            "MAILSAGE_DATABASE_URL": url,
            "MAILSAGE_SECRET_KEY": secret_key(),
            "MAILSAGE_RATE_LIMIT_PER_SECOND": "0",
            "MAILSAGE_SERVE_SENDER": "false",
            "MAILSAGE_LOG_LEVEL": "warning",
            "BENCH_DATABASE_URL": url,
        }
    )
    from bench import raw_starlette
    from mailsage_gql import database
    from mailsage_gql.app import create_app
    from mailsage_gql.services import accounts, smtp_configs
    from mailsage_gql.settings import Settings

    settings = Settings.from_env()
    await database.migrate(settings)
    app = create_app(settings)
    raw_starlette.DB = raw_starlette.Db(url)
    async with app.router.lifespan_context(app):
        await raw_starlette.DB.open()
        try:
            account, issued = await accounts.create_account("bench")
            for i in range(10):
                await smtp_configs.create_config(
                    account.id,
                    {
                        "name": f"provider-{i}",
                        "host": "127.0.0.1",
                        "port": 2500 + i,
                        "from_email": "sender@example.com",
                        "username": "user",
                        "password": "secret",
                        "is_default": i == 0,
                    },
                    keyring=app.state.resources.keyring,
                )
            body = json.dumps({"query": QUERY}).encode()
            key = issued.api_key
            sides = {
                "raw": (raw_starlette.app, scope("GET", "/raw/smtp-configs", key, b""), b""),
                "gql": (app, scope("POST", "/graphql", key, body), body),
            }
            for side, (target, request, payload) in sides.items():  # the same answer
                sent = await call(target, request, payload)
                rows = json.loads(sent[1]["body"])["data"]["smtpConfigs"]
                assert len(rows) == 10, (side, sent[:1])
            best: dict[str, float] = {}
            for _ in range(3):
                for side, (target, request, payload) in sides.items():
                    started = time.process_time()
                    for _ in range(requests):
                        await call(target, request, payload)
                    used = (time.process_time() - started) * 1e6 / requests
                    best[side] = min(best.get(side, used), used)
        finally:
            await raw_starlette.DB.close()
    return ["sqlite", requests, best["raw"], best["gql"], best["raw"] / best["gql"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--quick", action="store_true")
    options = parser.parse_args()
    if options.quick:
        options.requests = 300
    rows = [uvloop.run(measure(options.requests))]
    header("smtpConfigs in process (ASGI calls, no HTTP): CPU per request, best of 3 rounds")
    print(table(["db", "requests", "raw CPU µs/req", "gql CPU µs/req", "ratio"], rows))


if __name__ == "__main__":
    main()
