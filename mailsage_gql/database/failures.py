"""Telling a lost database connection from a statement that failed, for either driver."""

from __future__ import annotations

import asyncpg

#: What a lost database connection looks like (a server restart, a failover, a network cut):
#: the socket's errors, asyncpg's connection-class and shutdown errors, and the interface
#: errors of a connection that closed under a running transaction.
_CONNECTION_LOST: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
)


def connection_lost(exc: BaseException) -> bool:
    """Whether `exc` (or what it wraps: Tortoise re-raises some asyncpg errors) says the
    database connection was lost, rather than that the writes themselves failed."""
    seen: BaseException | None = exc
    for _ in range(4):
        if seen is None:
            return False
        if isinstance(seen, _CONNECTION_LOST):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
