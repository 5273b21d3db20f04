"""Delivering one leased message: failover across the account's configs, outcomes recorded."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from cachetools import LRUCache

from mailsage_gql.crypto import Keyring, UnsealError
from mailsage_gql.delivery import attempts, breakers, policy
from mailsage_gql.delivery.attempts import AttemptOutcome, AttemptRecord, Quota
from mailsage_gql.delivery.batcher import WriteBatcher
from mailsage_gql.delivery.clock import SYSTEM_CLOCK, Clock, utc_day
from mailsage_gql.delivery.message_queue import Claimed
from mailsage_gql.delivery.outbox import Event
from mailsage_gql.delivery.rendering import MessageParts, render
from mailsage_gql.errors import (
    LeaseLostError,
    SmtpAuthError,
    SmtpError,
    SmtpRateLimitError,
    SmtpUncertainError,
    ValidationError,
)
from mailsage_gql.models import MessageStatus, SmtpConfig, SmtpUsage
from mailsage_gql.services.smtp_configs import open_password
from mailsage_gql.settings import Settings
from mailsage_gql.smtp import OutgoingMessage, SendResult, SmtpEndpoint, SmtpPoolRegistry

log = logging.getLogger("mailsage.delivery")

#: Stages at which nothing was handed to the provider: the quota reservation is given back.
_NOT_REACHED = frozenset({"connect", "tls", "auth", "mail", "rcpt"})


ROUTE_TTL = timedelta(seconds=1)
#: Accounts whose route is kept; the least recently used goes first.
ROUTE_CACHE_SIZE = 10_000


@dataclass(frozen=True)
class _Route:
    configs: list[SmtpConfig]
    sent_today: dict[uuid.UUID, int]
    health: dict[uuid.UUID, policy.Health]
    expires: datetime
    day: date


class _Slot:
    """One of a config's connection places; released once (early, or on leaving the block)."""

    def __init__(self, semaphore: asyncio.Semaphore) -> None:
        self._semaphore = semaphore
        self._held = False

    async def __aenter__(self) -> _Slot:
        await self._semaphore.acquire()
        self._held = True
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.release()

    def release(self) -> None:
        if self._held:
            self._held = False
            self._semaphore.release()


@dataclass(frozen=True)
class Outcome:
    status: MessageStatus
    error: tuple[str, str] | None


class SmtpDeliverer:
    """Delivers leased messages for one worker (`owner`), through pooled SMTP connections."""

    def __init__(
        self,
        *,
        settings: Settings,
        keyring: Keyring,
        pools: SmtpPoolRegistry,
        owner: str,
        batcher: WriteBatcher,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.settings = settings
        #: Every instant a delivery decides by (breaker, limits, routing snapshot, backoff).
        self.clock = clock
        #: Every queue write goes through it: group commit, events announced per commit.
        self.batcher = batcher
        self._routes: LRUCache[uuid.UUID, _Route] = LRUCache(maxsize=ROUTE_CACHE_SIZE)
        self._loading: dict[uuid.UUID, asyncio.Future[_Route]] = {}
        self._failures = 0  # failures seen so far: a route read before one is not kept
        #: One semaphore per config (and connection count): a message takes a place before it
        #: is marked in flight, so in-flight marks never wait for a connection.
        self._slots: dict[tuple[uuid.UUID, int], asyncio.Semaphore] = {}
        self.keyring = keyring
        self.pools = pools
        self.owner = owner
        self.cooldown = timedelta(seconds=settings.circuit_cooldown)
        self.probe_timeout = timedelta(seconds=settings.smtp_message_timeout * 2)

    async def deliver(self, message: Claimed) -> None:
        """Try the message's configs in failover order until one accepts it; otherwise defer
        it, or fail it when it is older than the maximum age. Never raises for SMTP outcomes.
        """
        try:
            await self._deliver(message)
        except LeaseLostError:
            log.warning("lease on message %s was lost; another worker owns it now", message.id)

    async def _route(self, account_id: uuid.UUID, now: datetime) -> _Route:
        """The account's configs, usage and breaker states, read at most once a second.

        Planning only: the reservation and the probe claim decide atomically in the database,
        so a stale snapshot can only make a config be tried and refused, never over-used. Any
        failure drops the snapshot, so a breaker that just opened is seen at once here.
        """
        cached = self._routes.get(account_id)
        if cached is not None and cached.expires > now and cached.day == utc_day(now):
            return cached
        # One read per account at a time: the deliveries that find the snapshot stale
        # together wait for the same read instead of each making their own.
        loading = self._loading.get(account_id)
        if loading is None:
            loading = asyncio.ensure_future(self._read_route(account_id, now, self._failures))
            self._loading[account_id] = loading

            def forget(done: asyncio.Future[_Route]) -> None:
                if self._loading.get(account_id) is done:
                    del self._loading[account_id]

            loading.add_done_callback(forget)
        return await asyncio.shield(loading)

    def _forget_route(self, account_id: uuid.UUID) -> None:
        """After a failure: the next delivery reads anew, and a read already under way does
        not install what it read (it may predate the failure)."""
        self._failures += 1
        self._routes.pop(account_id, None)
        self._loading.pop(account_id, None)

    async def _read_route(self, account_id: uuid.UUID, now: datetime, failures: int) -> _Route:
        configs = await SmtpConfig.filter(account_id=account_id).order_by(
            "priority", "created_at", "id"
        )
        by_id = {c.id: c for c in configs}
        usage = await SmtpUsage.filter(config_id__in=list(by_id), day=utc_day(now)).values_list(
            "config_id", "sent"
        )
        route = _Route(
            configs=configs,
            sent_today={uuid.UUID(str(config_id)): sent for config_id, sent in usage},
            health=await breakers.read_health(list(by_id)),
            expires=now + ROUTE_TTL,
            day=utc_day(now),
        )
        if failures == self._failures:
            self._routes[account_id] = route
        return route

    async def _deliver(self, message: Claimed) -> None:
        now = self.clock.now()
        route = await self._route(message.account_id, now)
        configs = route.configs
        by_id = {c.id: c for c in configs}
        sent_today = route.sent_today
        health = route.health
        requested = message.requested_config_id
        if requested not in by_id:
            requested = next((c.id for c in configs if c.is_default), None)
        plan = policy.plan_failover(
            [
                policy.Candidate(
                    config_id=c.id,
                    priority=c.priority,
                    daily_limit=c.daily_limit,
                    sent_today=sent_today.get(c.id, 0),
                    health=health.get(c.id, policy.Health()),
                )
                for c in configs
            ],
            requested=requested,
            recipients=message.recipient_count,
            now=now,
        )
        last_error: tuple[str, str] | None = None
        previous: uuid.UUID | None = None
        refused: list[tuple[uuid.UUID, policy.Skip]] = []
        for config_id, probe in plan.order:
            config = by_id[config_id]
            # Wait for a place at the config (four a connection) before marking the message in
            # flight: a worker that dies strands as UNCERTAIN only about what it was sending.
            async with self._slot(config) as slot:
                reservation = await attempts.begin_attempt(
                    message,
                    owner=self.owner,
                    batcher=self.batcher,
                    config_id=config_id,
                    daily_limit=config.daily_limit,
                    max_per_minute=config.max_per_minute,
                    probe=probe,
                    probe_timeout=self.probe_timeout,
                    failover_from=previous,
                    now=self.clock.now(),
                )
                if not reservation.ok:
                    # Another worker took the last places since the plan was read.
                    assert reservation.reason is not None  # a refusal always says why
                    refused.append((config_id, policy.Skip(reservation.reason)))
                    continue
                outcome = await self._attempt(message, config, slot)
            if outcome.status != MessageStatus.SENDING:
                return
            last_error = outcome.error
            previous = config_id
        if refused:
            plan = policy.refused_at_reservation(plan, refused, now=self.clock.now())
        await self._put_off(message, plan, last_error)

    def _slot(self, config: SmtpConfig) -> _Slot:
        key = (config.id, config.max_connections)
        semaphore = self._slots.get(key)
        if semaphore is None:
            # Four places a connection: the next messages' in-flight marks commit while the
            # current one is on the wire, so the connection never waits for a commit,
            # and a dead worker strands at most that many as UNCERTAIN.
            semaphore = self._slots[key] = asyncio.Semaphore(4 * config.max_connections)
        return _Slot(semaphore)

    async def _attempt(self, message: Claimed, config: SmtpConfig, slot: _Slot) -> Outcome:
        """One SMTP attempt through `config`; records it. Returns the outcome, whose status
        SENDING means "try the next config"."""
        started = self.clock.now()
        number = message.attempt_count
        try:
            password = open_password(config, self.keyring)
        except UnsealError:
            error: SmtpError = SmtpAuthError(
                "the stored SMTP password cannot be opened with the configured secret keys "
                "(was MAILSAGE_SECRET_KEY changed without keeping the old key?)",
                stage="auth",
            )
            return await self._record_failure(message, config, started, number, error)
        endpoint = SmtpEndpoint(
            host=config.host,
            port=config.port,
            use_tls=config.use_tls,
            username=config.username,
            password=password,
        )
        pool = self.pools.get(
            str(config.id),
            config.updated_at.isoformat(),
            endpoint,
            max_connections=config.max_connections,
        )
        sender = message.from_email or config.from_email
        data = render(
            MessageParts(
                from_email=sender,
                to=message.to,
                cc=message.cc,
                subject=message.subject,
                text=message.text,
                html=message.html,
                reply_to=message.reply_to,
                headers=[(n, v) for n, v in message.headers],
                message_id=message.message_id_header,
                date=message.created_at,
            )
        )
        recipients = (*message.to, *message.cc, *message.bcc)
        try:
            result = await pool.send(
                OutgoingMessage(sender=sender, recipients=recipients, data=data)
            )
        except (SmtpError, ValidationError) as exc:
            slot.release()
            return await self._record_failure(message, config, started, number, exc)
        slot.release()  # the connection is free: the next message may go while this is recorded
        await self._record_success(message, config, started, number, result)
        return Outcome(MessageStatus.SENT, None)

    async def _record_success(
        self,
        message: Claimed,
        config: SmtpConfig,
        started: datetime,
        number: int,
        result: SendResult,
    ) -> None:
        ended = self.clock.now()
        detail = result.response
        if result.refused:
            refused = ", ".join(f"{r} ({code})" for r, (code, _) in sorted(result.refused.items()))
            detail = f"{detail}; refused: {refused}"
        attempt = AttemptRecord(
            config_id=config.id,
            number=number,
            started_at=started,
            ended_at=ended,
            smtp_code=result.smtp_code,
            enhanced_code=result.enhanced_code,
            reply=result.response,
            error_code=None,
        )
        sent = Event(
            "SENT",
            smtp_config_id=config.id,
            attempt=number,
            smtp_code=result.smtp_code,
            enhanced_code=result.enhanced_code,
            detail=detail,
        )
        await attempts.finish_attempt(
            message, AttemptOutcome.sent(attempt, [sent]), owner=self.owner, batcher=self.batcher
        )

    async def _record_failure(
        self,
        message: Claimed,
        config: SmtpConfig,
        started: datetime,
        number: int,
        exc: SmtpError | ValidationError,
    ) -> Outcome:
        """`exc` is an SMTP outcome, or a ValidationError raised before anything was sent:
        the host policy refusing the config's host (field host: try the next config), or an
        address that cannot go on an SMTP command line (the message fails)."""
        self._forget_route(message.account_id)  # re-read breaker states next time
        ended = self.clock.now()
        error = (exc.code, exc.message)
        smtp = exc if isinstance(exc, SmtpError) else None
        smtp_code = smtp.smtp_code if smtp else None
        enhanced = smtp.enhanced_code if smtp else None
        quota = isinstance(exc, SmtpRateLimitError) and (exc.smtp_code or 0) >= 500

        def failed(h: policy.Health) -> policy.Health:
            return policy.after_failure(
                h,
                code=exc.code,
                now=ended,
                threshold=self.settings.circuit_failure_threshold,
                cooldown=self.cooldown,
                quota=quota,
            )

        attempt = AttemptRecord(
            config_id=config.id,
            number=number,
            started_at=started,
            ended_at=ended,
            smtp_code=smtp_code,
            enhanced_code=enhanced,
            reply=exc.message,
            error_code=exc.code,
        )
        if smtp is None:
            if exc.field in ("host", "port"):
                outcome = AttemptOutcome.failover(
                    attempt, error, after_failure=failed, quota=Quota.RELEASE
                )
            else:
                outcome = AttemptOutcome.failed_unsent(attempt, error)
        elif isinstance(smtp, SmtpUncertainError):
            # Never resent; the provider may well be fine, so no failure is counted.
            outcome = AttemptOutcome.uncertain(attempt, error)
        elif not smtp.provider_failure:
            # A recipient or message rejection: the provider answered, so it is healthy.
            outcome = AttemptOutcome.rejected(attempt, error)
        else:
            unsent = smtp.stage in _NOT_REACHED or smtp.stage is None
            outcome = AttemptOutcome.failover(
                attempt,
                error,
                after_failure=failed,
                quota=Quota.RELEASE if unsent else Quota.KEEP,
            )
        await attempts.finish_attempt(message, outcome, owner=self.owner, batcher=self.batcher)
        return Outcome(outcome.status, error)

    async def _put_off(
        self, message: Claimed, plan: policy.Plan, last_error: tuple[str, str] | None
    ) -> None:
        """No config could take the message now: DEFERRED with backoff, or FAILED when old."""
        now = self.clock.now()
        if last_error is None:
            reasons = ", ".join(sorted({reason.value for _, reason in plan.skipped}))
            last_error = (
                ("smtp_rate_limit", f"no SMTP config can take this message now ({reasons})")
                if plan.skipped
                else ("smtp_validation_failed", "the account has no SMTP config")
            )
        if policy.expired(
            created_at=message.created_at, now=now, max_age=self.settings.max_message_age
        ):
            await attempts.end_without_attempt(
                message,
                owner=self.owner,
                batcher=self.batcher,
                status=MessageStatus.FAILED,
                event=Event("FAILED", code=last_error[0], detail=last_error[1]),
                now=now,
                next_attempt_at=None,
                error=last_error,
            )
            return
        at = policy.next_attempt_at(
            now=now,
            deferrals=message.deferrals,
            schedule=self.settings.retry_schedule,
            available_again_at=plan.available_again_at,
        )
        await attempts.end_without_attempt(
            message,
            owner=self.owner,
            batcher=self.batcher,
            status=MessageStatus.DEFERRED,
            event=Event(
                "DEFERRED", code=last_error[0], detail=f"{last_error[1]}; retry at {at.isoformat()}"
            ),
            now=now,
            next_attempt_at=at,
            error=last_error,
        )
