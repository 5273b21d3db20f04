"""A process's delivery engine: the lease loops, their SMTP pools, and what wakes what."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from mailsage_gql.crypto import Keyring
from mailsage_gql.database import db_connection
from mailsage_gql.database.listen import PgListener
from mailsage_gql.delivery import message_queue, webhook_queue
from mailsage_gql.delivery.batcher import CommitNotice, WriteBatcher
from mailsage_gql.delivery.clock import SYSTEM_CLOCK, Clock
from mailsage_gql.delivery.lease_loop import LeaseLoop, Wakeup, new_owner_id
from mailsage_gql.delivery.smtp_deliverer import SmtpDeliverer
from mailsage_gql.delivery.webhook_deliverer import WebhookDeliverer
from mailsage_gql.events.hub import EventHub
from mailsage_gql.settings import Settings
from mailsage_gql.smtp import SmtpPoolRegistry, TransportOptions

log = logging.getLogger("mailsage.engine")

#: PostgreSQL NOTIFY channels, without payload (see Wakeups). Messages were queued:
QUEUE_CHANNEL = "mailsage_queue"
#: Delivery events were stored (and with them, maybe, webhook deliveries):
EVENTS_CHANNEL = "mailsage_events"


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


class Wakeups:
    """What wakes what: readers in this process at once, those of others through NOTIFY.

    cause                                       wakes here at once               NOTIFY
    messages queued (`messages_queued`)         message loop, hub, webhook loop  queue, events
    events stored by a flush (`flush_notice`)   hub, webhook loop                events
    events stored otherwise (`events_stored`)   hub, webhook loop                events
    a NOTIFY on queue, from another process     message loop
    a NOTIFY on events, from another process    hub, webhook loop

    Stored events wake the webhook loop because the outbox queues webhook deliveries with
    them; a lease loop also wakes itself when one of its deliveries ends (a free slot).
    Hints only: every reader polls too, so a lost hint delays work by one poll interval.
    NOTIFY is PostgreSQL's (on SQLite one process does everything). One LISTEN connection
    per process, opened by `start()`: whoever builds the process starts and stops it (the
    app's lifespan, the worker command); the process's engine shares it.
    """

    def __init__(self, settings: Settings, *, hub: EventHub | None = None) -> None:
        self.settings = settings
        #: This process's subscribers (None: a process without the API, a worker).
        self.hub = hub
        #: The message lease loop's.
        self.messages = Wakeup()
        #: The webhook lease loop's.
        self.webhooks = Wakeup()
        self._postgres = settings.dialect == "postgres"
        self._listener: PgListener | None = None

    async def messages_queued(self) -> None:
        """After a commit that queued messages (it stored their QUEUED events too)."""
        self.messages.set()
        self._events_here()
        if self._postgres:
            await self._notify(QUEUE_CHANNEL, EVENTS_CHANNEL)

    async def events_stored(self) -> None:
        """After a commit that stored delivery events, outside the write batcher."""
        self._events_here()
        if self._postgres:
            await self._notify(EVENTS_CHANNEL)

    def flush_notice(self) -> CommitNotice:
        """The write batcher's: its flushes store delivery events, and NOTIFY in their own
        transaction (no round trip of its own)."""
        return CommitNotice(
            channel=EVENTS_CHANNEL if self._postgres else None, local=self._events_here
        )

    def _events_here(self) -> None:
        if self.hub is not None:
            self.hub.wake()
        self.webhooks.set()

    async def _notify(self, *channels: str) -> None:
        statements = "; ".join(f"NOTIFY {channel}" for channel in channels)
        await db_connection(self.settings).execute_script(statements)

    async def start(self) -> None:
        """PostgreSQL: open this process's LISTEN connection (waits a few seconds for it)."""
        if self._postgres and self._listener is None:
            self._listener = PgListener(
                self.settings.database_url,
                {QUEUE_CHANNEL: self.messages.set, EVENTS_CHANNEL: self._events_here},
            )
            await self._listener.start()

    async def stop(self) -> None:
        if self._listener is not None:
            await self._listener.stop()
            self._listener = None


class Engine:
    """The lease loops of a process that sends: messages over SMTP, webhook deliveries.

    States: idle -> started (start()) -> stopped (stop()). Woken through `wakeups`, whose
    LISTEN connection is its creator's to start.
    """

    def __init__(
        self,
        *,
        settings: Settings,
        keyring: Keyring,
        wakeups: Wakeups,
        concurrency: int | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        """`clock`: the time the SMTP deliverer decides by (a test moves it)."""
        self.settings = settings
        self.wakeups = wakeups
        self.owner = new_owner_id()
        self.pools = SmtpPoolRegistry(transport_options(settings))
        self.batcher = WriteBatcher(
            parallel=1,
            notice=wakeups.flush_notice(),
        )
        deliverer = SmtpDeliverer(
            settings=settings,
            keyring=keyring,
            pools=self.pools,
            owner=self.owner,
            batcher=self.batcher,
            clock=clock,
        )
        self.message_loop = LeaseLoop(
            work=message_queue,
            deliver=deliverer.deliver,
            owner=self.owner,
            concurrency=concurrency or settings.worker_concurrency,
            lease=timedelta(seconds=settings.lease_seconds),
            poll_interval=settings.poll_interval,
            wakeup=wakeups.messages,
            announce=wakeups.events_stored,
        )
        self.webhook_deliverer = WebhookDeliverer(
            settings=settings, keyring=keyring, owner=self.owner
        )
        self.webhook_loop = LeaseLoop(
            work=webhook_queue,
            deliver=self.webhook_deliverer.deliver,
            owner=self.owner,
            concurrency=settings.webhook_concurrency,
            lease=timedelta(seconds=max(settings.lease_seconds, settings.webhook_timeout * 3)),
            poll_interval=settings.poll_interval,
            wakeup=wakeups.webhooks,
            # At most five looks (two queries each) a second however fast events are stored;
            # in exchange a webhook may leave up to 0.2 s later.
            min_interval=0.2,
        )
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self.message_loop.run()),
            asyncio.create_task(self.webhook_loop.run()),
        ]

    async def stop(self) -> None:
        if self._tasks:
            await asyncio.gather(self.message_loop.stop(), self.webhook_loop.stop())
            for task in self._tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.pools.close()
        await self.webhook_deliverer.close()
