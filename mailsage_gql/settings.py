"""All configuration, read once from MAILSAGE_* environment variables (docs/configuration.md)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from mailsage_gql.errors import ConfigurationError

DEFAULT_DATABASE_URL = "sqlite://./mailsage.db"
PREFIX = "MAILSAGE_"


def _parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"expected true or false, got {raw!r}")


def _parse_floats(raw: str) -> tuple[float, ...]:
    return tuple(float(part) for part in raw.split(",") if part.strip())


def _parse_strs(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


@dataclass(frozen=True)
class Settings:
    """Every knob of the service, from `Settings.from_env()`; nothing else reads os.environ."""

    database_url: str = DEFAULT_DATABASE_URL
    env: str = "development"
    #: Base64 keys, comma separated, newest first. Empty: generated (embedded SQLite only).
    secret_key: str = field(default="", repr=False)
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"

    # GraphQL and HTTP hardening.
    graphiql: bool | None = None  # None: on unless production
    introspection: bool | None = None  # None: on unless production
    graphql_max_depth: int = 10
    graphql_max_aliases: int = 15
    graphql_max_tokens: int = 2000
    max_request_bytes: int = 12 * 1024 * 1024
    cors_origins: tuple[str, ...] = ()
    rate_limit_per_second: float = 50.0
    rate_limit_burst: int = 200
    #: Seconds a verified API key is remembered per process (a revocation takes that long
    #: to reach other processes); 0 checks the database on every request.
    auth_cache_seconds: float = 5.0

    # SMTP transport.
    smtp_ca_file: str = ""
    #: Loopback and private hosts for SMTP and webhooks (never metadata). None: embedded only.
    allow_private_smtp_hosts: bool | None = None
    smtp_connect_timeout: float = 10.0
    smtp_command_timeout: float = 30.0
    smtp_message_timeout: float = 120.0
    smtp_pool_idle_timeout: float = 60.0
    smtp_helo_name: str = ""

    # Sending.
    serve_sender: bool = True  # `mailsage serve` also delivers (set false with separate workers)
    max_batch_size: int = 1000
    max_message_bytes: int = 10 * 1024 * 1024
    #: Messages a sender works on at once (each waits for one of its config's connections
    #: before it is marked in flight): more than the connections keeps them busy while
    #: outcomes are being committed.
    worker_concurrency: int = 256
    lease_seconds: float = 300.0
    poll_interval: float = 1.0
    retry_schedule: tuple[float, ...] = (60.0, 300.0, 900.0, 1800.0, 3600.0)
    max_message_age: float = 3 * 24 * 3600.0
    circuit_failure_threshold: int = 5
    circuit_cooldown: float = 60.0
    idempotency_window: float = 24 * 3600.0

    # Webhooks.
    webhook_timeout: float = 10.0
    #: Waits before each retry (jittered by up to a fifth): 8 attempts over about 18 hours.
    webhook_retry_schedule: tuple[float, ...] = (5.0, 60.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0)
    webhook_disable_after: int = 50
    webhook_secret_grace: float = 24 * 3600.0
    webhook_concurrency: int = 8

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read MAILSAGE_<FIELD> for every field; `overrides` win (tests, CLI flags).

        :raises ConfigurationError: a value that does not parse, naming the variable.
        """
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            name = PREFIX + f.name.upper()
            if name not in environ or f.name in overrides:
                continue
            raw = environ[name]
            try:
                values[f.name] = _convert(f.type, raw)
            except ValueError as exc:
                raise ConfigurationError(f"{name}: {exc}") from None
        values.update(overrides)
        settings = cls(**values)
        settings.check()
        return settings

    def check(self) -> None:
        """:raises ConfigurationError: for settings that cannot work together."""
        if self.env not in {"development", "production"}:
            raise ConfigurationError("MAILSAGE_ENV must be development or production")
        if self.dialect not in {"sqlite", "postgres"}:
            raise ConfigurationError(
                "MAILSAGE_DATABASE_URL must start with sqlite:// or postgres://"
            )

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def dialect(self) -> str:
        scheme = self.database_url.split("://", 1)[0]
        return {"postgresql": "postgres", "asyncpg": "postgres", "psycopg": "postgres"}.get(
            scheme, scheme
        )

    @property
    def embedded(self) -> bool:
        """The embedded default: SQLite in development, one process, no other server."""
        return self.dialect == "sqlite" and not self.production

    @property
    def sqlite_path(self) -> Path | None:
        if self.dialect != "sqlite":
            return None
        return Path(self.database_url.split("://", 1)[1].split("?", 1)[0])

    @property
    def secret_key_file(self) -> Path | None:
        """Where the embedded default keeps its generated key: beside the database file."""
        path = self.sqlite_path
        if path is None or str(path) == ":memory:":
            return None
        return path.with_name(path.name + ".key")

    @property
    def private_smtp_hosts_allowed(self) -> bool:
        """Whether SMTP hosts and webhook URLs may lead to loopback and private addresses.

        Security: cloud metadata and link-local addresses stay refused either way
        (mailsage_gql.host_policy).
        """
        if self.allow_private_smtp_hosts is not None:
            return self.allow_private_smtp_hosts
        return self.embedded

    @property
    def graphiql_enabled(self) -> bool:
        return (not self.production) if self.graphiql is None else self.graphiql

    @property
    def introspection_enabled(self) -> bool:
        return (not self.production) if self.introspection is None else self.introspection


def _convert(annotation: Any, raw: str) -> Any:
    kind = str(annotation)
    if "bool" in kind:
        return _parse_bool(raw)
    if "tuple[float" in kind:
        return _parse_floats(raw)
    if "tuple[str" in kind:
        return _parse_strs(raw)
    if kind.startswith("int"):
        return int(raw)
    if kind.startswith("float"):
        return float(raw)
    return raw
