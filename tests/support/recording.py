"""Records every response body a test receives, to prove no password ever reaches a client."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import httpx

#: Every password a test has sent; no response body may ever contain one of them.
KNOWN_PASSWORDS: set[str] = {"your-password"}  # the product guide's example password


def new_password(label: str = "pw") -> str:
    """A unique password, registered so that any response echoing it fails the test."""
    value = f"{label}-{secrets.token_urlsafe(12)}"
    KNOWN_PASSWORDS.add(value)
    return value


class ResponseLog:
    """Every body received during one test, checked for known passwords at teardown."""

    def __init__(self) -> None:
        self.bodies: list[tuple[str, str]] = []

    def watch(self, client: httpx.AsyncClient | httpx.Client) -> None:
        """Record every response `client` receives from now on."""
        if isinstance(client, httpx.AsyncClient):
            client.event_hooks["response"].append(self._record_async)
        else:
            client.event_hooks["response"].append(self._record_sync)

    def record(self, source: str, text: str) -> None:
        """Record something received outside httpx (a websocket message, CLI output)."""
        self.bodies.append((source, text))

    async def _record_async(self, response: httpx.Response) -> None:
        await response.aread()
        self.record(f"{response.request.method} {response.request.url}", response.text)

    def _record_sync(self, response: httpx.Response) -> None:
        response.read()
        self.record(f"{response.request.method} {response.request.url}", response.text)

    def leaks(self) -> list[str]:
        """`source: password` for every recorded body that contains a known password."""
        return [
            f"{source}: {password!r}"
            for source, text in self.bodies
            for password in KNOWN_PASSWORDS
            if password in text
        ]

    def assert_no_password(self) -> None:
        leaks = self.leaks()
        assert not leaks, "a password reached a client:\n" + "\n".join(leaks)


def guard_responses(client: httpx.AsyncClient) -> Iterator[ResponseLog]:
    """Body of an autouse fixture: watch `client`, then fail the test if any body leaked."""
    log = ResponseLog()
    log.watch(client)
    yield log
    log.assert_no_password()
