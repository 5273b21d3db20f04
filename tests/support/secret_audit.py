"""Suite-wide secret audit: every log line, HTTP body and websocket frame, checked for secrets.

An autouse session fixture wraps every Starlette app served in this process (in process over
httpx or behind uvicorn) and installs a root logging handler. Secrets are registered as they
appear: SMTP passwords from request bodies (REST JSON, GraphQL variables or literals) whose
request succeeded, plus the tests' own (tests.support.recording.KNOWN_PASSWORDS), API keys
from `make_tenant` and Authorization headers or connection_init payloads, webhook secrets from
the responses that issue them. Those responses (createWebhook, rotateWebhookSecret) may show
the secret they issue, exempted by the request that asked for it, never by value; any other
secret in them is still a leak. At session end no secret may appear anywhere else.
"""

from __future__ import annotations

import bisect
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import graphql
import pytest
from starlette.applications import Starlette
from starlette.types import Message, Receive, Scope, Send

from tests.support import recording

#: Mutations whose response legitimately shows a secret, once: the one it issues.
ISSUING_FIELDS = frozenset({"createWebhook", "rotateWebhookSecret"})
#: aiosmtpd's server log: the test SMTP server receives credentials by design.
EXEMPT_LOGGERS = ("mail.log",)
#: Our loggers, lowered to DEBUG for the session so that their every line is audited.
OUR_LOGGERS = ("mailsage", "mailsage_gql")
API_KEY = re.compile(r"ms_[0-9a-f]{12}_[A-Za-z0-9_-]{20,}")
MAX_PARSED_REQUEST = 256 * 1024


def plausible_secret(value: object) -> bool:
    """A value worth auditing: long and varied enough not to match ordinary text by chance
    (generated inputs such as "00000000" would)."""
    return isinstance(value, str) and 8 <= len(value) <= 1024 and len(set(value)) >= 6


@dataclass
class SecretAudit:
    """Registered secrets and everything observed; `leaks()` says where a secret was seen."""

    secrets: dict[str, str] = field(default_factory=dict)
    #: (source, text) with no exemption; joined for one fast search per secret at the end.
    observed: list[tuple[str, str]] = field(default_factory=list)
    #: (source, text, secrets this text may show) for the shown-once responses.
    exempted: list[tuple[str, str, frozenset[str]]] = field(default_factory=list)

    #: Log files of the processes tests start (`mailsage serve`, `mailsage worker`): read
    #: at the end of the session, so their log lines are audited too.
    log_files: list[Path] = field(default_factory=list)

    def register(self, value: object, kind: str) -> None:
        if plausible_secret(value):
            assert isinstance(value, str)
            self.secrets.setdefault(value, kind)

    def observe(self, source: str, text: str, *, may_show: frozenset[str] = frozenset()) -> None:
        if may_show:
            self.exempted.append((source, text, may_show))
        elif text:
            self.observed.append((source, text))

    def all_secrets(self) -> dict[str, str]:
        known = dict(self.secrets)
        for password in recording.KNOWN_PASSWORDS:
            if plausible_secret(password):
                known.setdefault(password, "password")
        return known

    def leaks(self) -> list[str]:
        """`kind 'secret...' in source` for every sighting outside its exemption."""
        separator = "\x00\x00"
        starts: list[int] = []
        position = 0
        for _, text in self.observed:
            starts.append(position)
            position += len(text) + len(separator)
        corpus = separator.join(text for _, text in self.observed)
        found = []
        for secret, kind in self.all_secrets().items():
            index = corpus.find(secret)
            while index != -1:
                source = self.observed[bisect.bisect_right(starts, index) - 1][0]
                found.append(f"{kind} {secret[:6]}... in {source}")
                index = corpus.find(secret, index + 1)
            for source, text, may_show in self.exempted:
                if secret not in may_show and secret in text:
                    found.append(f"{kind} {secret[:6]}... in {source}")
        return found


AUDIT = SecretAudit()


def audit_log_file(path: Path) -> None:
    """Audit the log a child process writes to `path` (read at the end of the session)."""
    AUDIT.log_files.append(path)


class AuditLogHandler(logging.Handler):
    """Records every formatted log line, traceback included."""

    def __init__(self, audit: SecretAudit) -> None:
        super().__init__(logging.DEBUG)
        self.audit = audit
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(EXEMPT_LOGGERS):
            return
        try:
            self.audit.observe(f"log {record.name}", self.format(record))
        except Exception:  # a record that cannot format is still the logger's bug, not ours
            self.handleError(record)


def _walk(value: Any, key: str | None = None) -> Iterator[tuple[str | None, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, k)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item, key)
    else:
        yield key, value


def _graphql_fields(query: Any) -> tuple[set[str], list[str]]:
    """(field names, string literals given to `password`) of a GraphQL document."""
    names: set[str] = set()
    passwords: list[str] = []
    if not isinstance(query, str):
        return names, passwords
    try:
        document = graphql.parse(query, max_tokens=50_000)
    except graphql.GraphQLError:
        return names, passwords

    class Visitor(graphql.Visitor):
        def enter_field(self, node: graphql.FieldNode, *_: Any) -> None:
            names.add(node.name.value)

        def enter_object_field(self, node: graphql.ObjectFieldNode, *_: Any) -> None:
            if node.name.value == "password" and isinstance(node.value, graphql.StringValueNode):
                passwords.append(node.value.value)

    graphql.visit(document, Visitor())
    return names, passwords


@dataclass
class Exchange:
    """One request to an app in this process and what it answered."""

    audit: SecretAudit
    scope: Scope
    request: bytearray = field(default_factory=bytearray)
    response: bytearray = field(default_factory=bytearray)
    issuing: bool = False
    status: int = 0
    #: Passwords in the request: registered once the response shows they were stored (a
    #: refused random value, e.g. "password" from a fuzzer, would match ordinary text).
    passwords: list[str] = field(default_factory=list)

    @property
    def source(self) -> str:
        return f"{self.scope['type']} {self.scope.get('method', 'WS')} {self.scope['path']}"

    def start(self) -> None:
        for name, value in self.scope.get("headers", ()):
            if name == b"authorization":
                self._register_keys(value.decode("latin-1"))

    def _register_keys(self, text: str) -> None:
        for key in API_KEY.findall(text):
            self.audit.register(key, "API key")

    def _register_request(self, body: bytes) -> None:
        try:
            data = json.loads(body)
        except ValueError:
            return
        items = data if isinstance(data, list) else [data]
        for item in items:
            for key, value in _walk(item):
                if key == "password" and isinstance(value, str):
                    self.passwords.append(value)
            if isinstance(item, dict):
                names, passwords = _graphql_fields(item.get("query"))
                self.passwords += passwords
                self.issuing = self.issuing or bool(names & ISSUING_FIELDS)
        self._register_keys(body.decode("utf-8", "replace"))

    def received(self, message: Message) -> None:
        if message["type"] == "http.request":
            if len(self.request) <= MAX_PARSED_REQUEST:
                self.request += message.get("body", b"")
            if not message.get("more_body") and len(self.request) <= MAX_PARSED_REQUEST:
                self._register_request(bytes(self.request))
        elif message["type"] == "websocket.receive":
            text = message.get("text") or (message.get("bytes") or b"").decode("utf-8", "replace")
            self._register_request(text.encode())

    def sent(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        elif message["type"] == "http.response.body":
            self.response += message.get("body", b"")
        elif message["type"] == "websocket.send":
            frame = message.get("text") or (message.get("bytes") or b"").decode("utf-8", "replace")
            self.audit.observe(f"{self.source} frame", frame)
        elif message["type"] == "websocket.close":
            self.audit.observe(f"{self.source} close", str(message.get("reason") or ""))

    def finish(self) -> None:
        text = self.response.decode("utf-8", "replace")
        shown: set[str] = set()
        try:
            body = json.loads(text)
        except ValueError:
            body = None
        if 200 <= self.status < 300 and not (isinstance(body, dict) and body.get("errors")):
            for password in self.passwords:
                self.audit.register(password, "SMTP password")
        if self.issuing:
            for key, value in _walk(body):
                if key == "secret" and isinstance(value, str):
                    self.audit.register(value, "webhook secret")
                    shown.add(value)
        self.audit.observe(self.source, text, may_show=frozenset(shown))


def audited_call(audit: SecretAudit) -> Any:
    original = Starlette.__call__

    async def call(self: Starlette, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await original(self, scope, receive, send)
            return
        exchange = Exchange(audit, scope)
        exchange.start()

        async def recording_receive() -> Message:
            message = await receive()
            exchange.received(message)
            return message

        async def recording_send(message: Message) -> None:
            exchange.sent(message)
            await send(message)

        try:
            await original(self, scope, recording_receive, recording_send)
        finally:
            exchange.finish()

    return call


@pytest.fixture(scope="session", autouse=True)
def secret_audit() -> Iterator[SecretAudit]:
    """The session's audit; fails the last test's teardown when a secret was seen anywhere."""
    handler = AuditLogHandler(AUDIT)
    root = logging.getLogger()
    root.addHandler(handler)
    levels = {name: logging.getLogger(name).level for name in OUR_LOGGERS}
    for name in OUR_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    patch = pytest.MonkeyPatch()
    patch.setattr(Starlette, "__call__", audited_call(AUDIT))
    try:
        yield AUDIT
    finally:
        patch.undo()
        root.removeHandler(handler)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
    for path in AUDIT.log_files:
        if path.exists():
            AUDIT.observe(f"log of {path.name}", path.read_text(errors="replace"))
    leaks = AUDIT.leaks()
    assert not leaks, "a secret was seen outside its shown-once response:\n" + "\n".join(leaks[:50])
