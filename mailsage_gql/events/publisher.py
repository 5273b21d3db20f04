"""Announcing committed delivery events: the local hub at once, other processes via NOTIFY."""

from __future__ import annotations

from collections.abc import Callable

from tortoise import connections

from mailsage_gql.events.hub import EventHub

EVENTS_CHANNEL = "mailsage_events"


class EventPublisher:
    """Call `published()` after a commit that stored events. A hint only: readers poll too."""

    def __init__(
        self,
        *,
        hub: EventHub | None,
        postgres_connection: str | None,
        local: list[Callable[[], None]] | None = None,
    ) -> None:
        self.hub = hub
        #: Also told at once, in this process (the webhook sender's wake-up).
        self.local = local or []
        #: Label of the PostgreSQL connection to NOTIFY on; None on SQLite (one process).
        self.postgres_connection = postgres_connection

    async def published(self) -> None:
        await self.published_locally()
        if self.postgres_connection is not None:
            conn = connections.get(self.postgres_connection)
            await conn.execute_script(f"NOTIFY {EVENTS_CHANNEL}")

    async def published_locally(self) -> None:
        """This process only: for writers whose transaction sent the NOTIFY itself."""
        if self.hub is not None:
            self.hub.wake()
        for wake in self.local:
            wake()
