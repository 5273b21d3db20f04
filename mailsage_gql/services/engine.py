"""The sending side of a process: SMTP pools, the sender loop and queue wake-ups."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from tortoise import connections

from mailsage_gql.crypto import Keyring
from mailsage_gql.database import connection_label
from mailsage_gql.delivery import queue, webhook_queue
from mailsage_gql.delivery.batcher import WriteBatcher
from mailsage_gql.delivery.clock import SYSTEM_CLOCK, Clock
from mailsage_gql.delivery.worker import Sender, Wakeup, new_owner_id
from mailsage_gql.events.hub import EventHub
from mailsage_gql.events.pg_listen import PgListener, asyncpg_dsn
from mailsage_gql.events.publisher import EVENTS_CHANNEL, EventPublisher
from mailsage_gql.services.delivery import Deliverer
from mailsage_gql.services.webhook_sender import WebhookDeliverer
from mailsage_gql.settings import Settings
from mailsage_gql.smtp import SmtpPoolRegistry, TransportOptions

log = logging.getLogger("mailsage.engine")

QUEUE_CHANNEL = "mailsage_queue"


def transport_options(settings: Settings) -> TransportOptions:
    return TransportOptions(
        connect_timeout=settings.smtp_connect_timeout,
        command_timeout=settings.smtp_command_timeout,
        message_timeout=settings.smtp_message_timeout,
        idle_timeout=settings.smtp_pool_idle_timeout,
        ca_file=settings.smtp_ca_file or None,
        allow_private_hosts=settings.private_smtp_hosts_allowed,
        helo_name=settings.smtp_helo_name or None,
    )


class QueueSignal:
    """Tells senders that work was queued (the local one at once, others through NOTIFY) and
    subscribers that the QUEUED events are stored."""

    def __init__(self, settings: Settings, *, hub: EventHub | None = None) -> None:
        self.settings = settings
        self.wakeup = Wakeup()
        #: Wakes the webhook sender: new events may have queued webhook deliveries.
        self.webhook_wakeup = Wakeup()
        postgres = settings.dialect == "postgres"
        self.events = EventPublisher(
            hub=hub,
            postgres_connection=connection_label(settings) if postgres else None,
            local=[self.webhook_wakeup.set],
        )

    async def notify(self) -> None:
        self.wakeup.set()
        if self.settings.dialect == "postgres":
            conn = connections.get(connection_label(self.settings))
            await conn.execute_script(f"NOTIFY {QUEUE_CHANNEL}; NOTIFY {EVENTS_CHANNEL}")
        if self.events.hub is not None:
            self.events.hub.wake()
        self.webhook_wakeup.set()


class Engine:
    """States: idle -> started (start()) -> stopped (stop()). One per process that sends."""

    def __init__(
        self,
        *,
        settings: Settings,
        keyring: Keyring,
        signal: QueueSignal,
        concurrency: int | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        """`clock`: the time the SMTP deliverer decides by (a test moves it)."""
        self.settings = settings
        self.signal = signal
        self.owner = new_owner_id()
        self.pools = SmtpPoolRegistry(transport_options(settings))
        self.batcher = WriteBatcher(
            parallel=1,
            after_commit=signal.events.published_locally,
            notify_channel=EVENTS_CHANNEL if settings.dialect == "postgres" else None,
        )
        deliverer = Deliverer(
            settings=settings,
            keyring=keyring,
            pools=self.pools,
            owner=self.owner,
            batcher=self.batcher,
            clock=clock,
        )
        self.sender = Sender(
            work=queue,
            deliver=deliverer.deliver,
            owner=self.owner,
            concurrency=concurrency or settings.worker_concurrency,
            lease=timedelta(seconds=settings.lease_seconds),
            poll_interval=settings.poll_interval,
            wakeup=signal.wakeup,
            announce=signal.events.published,
        )
        self.webhooks = WebhookDeliverer(settings=settings, keyring=keyring, owner=self.owner)
        self.webhook_sender = Sender(
            work=webhook_queue,
            deliver=self.webhooks.deliver,
            owner=self.owner,
            concurrency=settings.webhook_concurrency,
            lease=timedelta(seconds=max(settings.lease_seconds, settings.webhook_timeout * 3)),
            poll_interval=settings.poll_interval,
            wakeup=signal.webhook_wakeup,
            # At most five looks a second while events stream in: each look is two queries,
            # and at 20 a second they were ~4% of a busy worker's CPU (profiled). A webhook
            # leaves at most 0.2 s later for it.
            min_interval=0.2,
        )
        self._tasks: list[asyncio.Task[None]] = []
        self._listener: PgListener | None = None

    async def start(self) -> None:
        if self.settings.dialect == "postgres":
            self._listener = PgListener(
                asyncpg_dsn(self.settings.database_url),
                {
                    QUEUE_CHANNEL: lambda _payload: self.signal.wakeup.set(),
                    EVENTS_CHANNEL: lambda _payload: self.signal.webhook_wakeup.set(),
                },
            )
            await self._listener.start()
        self._tasks = [
            asyncio.create_task(self.sender.run()),
            asyncio.create_task(self.webhook_sender.run()),
        ]

    async def stop(self) -> None:
        if self._listener is not None:
            await self._listener.stop()
        if self._tasks:
            await asyncio.gather(self.sender.stop(), self.webhook_sender.stop())
            for task in self._tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.pools.close()
        await self.webhooks.close()
