"""Tortoise's SQLite engine, with a read-only connection per client for reads on the loop."""

from __future__ import annotations

import sqlite3
from typing import Any

from tortoise.backends.sqlite import client as tortoise_sqlite


class SqliteClient(tortoise_sqlite.SqliteClient):
    """Tortoise's client, which also holds the read-only connection `RawSql.fetch_small` reads
    through on the event loop: opened on first use, closed with the client."""

    def __init__(self, file_path: str, **kwargs: Any) -> None:
        super().__init__(file_path, **kwargs)
        self._loop_reader: sqlite3.Connection | None = None

    def loop_reader(self) -> sqlite3.Connection:
        if self._loop_reader is None:
            reader = sqlite3.connect(self.filename, isolation_level=None, check_same_thread=False)
            reader.execute("PRAGMA query_only = ON")
            # Never stall the loop for long: a busy read takes the regular path instead.
            reader.execute("PRAGMA busy_timeout = 20")
            self._loop_reader = reader
        return self._loop_reader

    async def close(self) -> None:
        await super().close()
        if self._loop_reader is not None:
            self._loop_reader.close()
            self._loop_reader = None


#: Tortoise loads an engine module's `client_class` (the config's "engine" names this module).
client_class = SqliteClient
