"""Attempt recording: an attempt begun (reserved, in flight), then its outcome stored."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import ClassVar, TypeVar

from tortoise.transactions import in_transaction

from mailsage_gql.database import RawSql
from mailsage_gql.delivery import breakers, quotas
from mailsage_gql.delivery.batcher import Refusal, WriteBatcher
from mailsage_gql.delivery.clock import utc_day
from mailsage_gql.delivery.message_queue import Claimed
from mailsage_gql.delivery.outbox import Event, EventRow, event_ctes, insert_event_rows
from mailsage_gql.delivery.policy import Health
from mailsage_gql.errors import LeaseLostError
from mailsage_gql.models import MessageStatus

T = TypeVar("T")


@dataclass(frozen=True)
class AttemptRecord:
    """What happened on the wire during one attempt through one config."""

    config_id: uuid.UUID
    number: int
    started_at: datetime
    ended_at: datetime
    smtp_code: int | None
    enhanced_code: str | None
    reply: str | None
    error_code: str | None

    @property
    def duration_ms(self) -> float:
        return (self.ended_at - self.started_at).total_seconds() * 1000


class Breaker(enum.Enum):
    """What an attempt's outcome does to its provider's circuit breaker."""

    CLOSE = "close"  # the provider answered: its failures are forgotten
    COUNT_FAILURE = "count_failure"  # a provider failure: AttemptOutcome.after_failure applies
    LEAVE = "leave"  # the attempt tells nothing about the provider


class Quota(enum.Enum):
    """What an attempt's outcome does to the recipients begin_attempt reserved."""

    KEEP = "keep"  # the message was handed to the provider: they count
    RELEASE = "release"  # nothing reached the provider: the reservation is given back


#: The message status each kind of outcome leaves, and the attempt's outcome as stored.
_STORED_OUTCOME = {
    MessageStatus.SENT: "sent",
    MessageStatus.FAILED: "failed",
    MessageStatus.UNCERTAIN: "uncertain",
    MessageStatus.SENDING: "failover",  # the lease is kept: the next config is tried
}


@dataclass(frozen=True)
class AttemptOutcome:
    """An attempt's outcome, to record with finish_attempt: the message's new status, the
    attempt, the events that describe it, the message's last error, and what it does to the
    provider's breaker and to the quota reservation. Build one with a named constructor."""

    status: MessageStatus
    attempt: AttemptRecord
    events: tuple[Event, ...]
    error: tuple[str, str] | None  # (code, message), the message's last error; None: SENT
    breaker: Breaker
    quota: Quota
    #: For Breaker.COUNT_FAILURE: the provider's next breaker state from its current one.
    after_failure: Callable[[Health], Health] | None = None

    def __post_init__(self) -> None:
        if self.status not in _STORED_OUTCOME:
            raise ValueError(f"an attempt does not leave a message {self.status.value}")
        if (self.status == MessageStatus.SENT) != (self.error is None):
            raise ValueError("every outcome but SENT carries an error, and SENT none")
        if (self.breaker is Breaker.COUNT_FAILURE) != (self.after_failure is not None):
            raise ValueError("after_failure goes with Breaker.COUNT_FAILURE, and only with it")
        if self.status == MessageStatus.SENT and (
            self.breaker is not Breaker.CLOSE or self.quota is not Quota.KEEP
        ):
            raise ValueError("a sent message's provider answered and counts it")

    @property
    def stored_outcome(self) -> str:
        """The attempt's outcome as delivery_attempt stores it."""
        return _STORED_OUTCOME[self.status]

    @classmethod
    def sent(cls, attempt: AttemptRecord, events: Sequence[Event]) -> AttemptOutcome:
        """The provider accepted the message: SENT. It answered, so its breaker closes, and
        the recipients count against the quota."""
        return cls(MessageStatus.SENT, attempt, tuple(events), None, Breaker.CLOSE, Quota.KEEP)

    @classmethod
    def rejected(cls, attempt: AttemptRecord, error: tuple[str, str]) -> AttemptOutcome:
        """The provider refused the message or its recipients for good: FAILED. It answered,
        so its breaker closes, and the recipients count against the quota."""
        return cls._final(MessageStatus.FAILED, attempt, error, Breaker.CLOSE, Quota.KEEP)

    @classmethod
    def failed_unsent(cls, attempt: AttemptRecord, error: tuple[str, str]) -> AttemptOutcome:
        """The message cannot go through any config, found before anything reached the
        provider (an address no SMTP command line can carry): FAILED. The breaker is left
        alone and the reservation given back."""
        return cls._final(MessageStatus.FAILED, attempt, error, Breaker.LEAVE, Quota.RELEASE)

    @classmethod
    def uncertain(cls, attempt: AttemptRecord, error: tuple[str, str]) -> AttemptOutcome:
        """The connection died after the final dot: UNCERTAIN, never resent. The provider
        answered up to then, so its breaker closes; the recipients count against the quota."""
        return cls._final(MessageStatus.UNCERTAIN, attempt, error, Breaker.CLOSE, Quota.KEEP)

    @classmethod
    def failover(
        cls,
        attempt: AttemptRecord,
        error: tuple[str, str],
        *,
        after_failure: Callable[[Health], Health],
        quota: Quota,
    ) -> AttemptOutcome:
        """A provider failure, or a config that cannot be used: the message stays SENDING and
        leased, for the next config (no event: that attempt's begin_attempt writes FAILOVER).
        The breaker counts the failure through `after_failure`; `quota` says whether the
        message was handed to the provider."""
        return cls(
            MessageStatus.SENDING,
            attempt,
            (),
            error,
            Breaker.COUNT_FAILURE,
            quota,
            after_failure,
        )

    @classmethod
    def _final(
        cls,
        status: MessageStatus,
        attempt: AttemptRecord,
        error: tuple[str, str],
        breaker: Breaker,
        quota: Quota,
    ) -> AttemptOutcome:
        """An outcome that ends the delivery run with an event of its status that carries
        the error and the provider's reply codes."""
        event = Event(
            status.value,
            smtp_config_id=attempt.config_id,
            attempt=attempt.number,
            code=error[0],
            smtp_code=attempt.smtp_code,
            enhanced_code=attempt.enhanced_code,
            detail=error[1],
        )
        return cls(status, attempt, (event,), error, breaker, quota)


@dataclass(frozen=True)
class Reservation:
    """begin_attempt's answer: the message is in flight through the config, or why not."""

    ok: bool
    reason: str | None = None  # daily_limit | minute_limit | circuit_open | None


async def _run(operation: Callable[[RawSql], Awaitable[T]], batcher: WriteBatcher | None) -> T:
    """Run a write in the group commit when there is one, else in its own transaction."""
    if batcher is not None:
        return await batcher.run(operation)
    async with in_transaction() as conn:
        return await operation(RawSql(conn))


@dataclass(frozen=True, eq=False)
class _Begin:
    """begin_attempt's writes for one message (see there). The common case (no breaker
    probe, no per-minute limit) combines: one reservation per config for the whole flush,
    one in-flight update, one event insert."""

    rank: ClassVar[int] = 0  # before _FinishSent: usage rows are locked before health rows

    message_id: uuid.UUID
    account_id: uuid.UUID
    owner: str
    config_id: uuid.UUID
    recipients: int
    daily_limit: int
    max_per_minute: int | None
    probe: bool
    probe_timeout: timedelta
    failover_from: uuid.UUID | None
    attempt: int
    now: datetime
    day: date = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "day", utc_day(self.now))

    @property
    def group(self) -> str | None:
        return None if self.probe or self.max_per_minute is not None else "begin"

    def events(self) -> list[EventRow]:
        rows: list[EventRow] = []
        if self.failover_from is not None:
            failover = Event(
                "FAILOVER",
                smtp_config_id=self.failover_from,
                attempt=self.attempt,
                detail=f"failed over from {self.failover_from} to {self.config_id}",
            )
            rows.append((self.account_id, self.message_id, failover, self.now))
        sending = Event("SENDING", smtp_config_id=self.config_id, attempt=self.attempt)
        rows.append((self.account_id, self.message_id, sending, self.now))
        return rows

    async def __call__(self, sql: RawSql) -> Reservation:
        config_id, day, n, now = self.config_id, self.day, self.recipients, self.now
        if not await quotas.reserve_day(sql, config_id, day, n, self.daily_limit):
            return Reservation(False, "daily_limit")
        if self.probe and not await breakers.claim_probe(
            sql, config_id, now=now, until=now + self.probe_timeout
        ):
            await quotas.release_day(sql, config_id, day, n)
            return Reservation(False, "circuit_open")
        if self.max_per_minute is not None and not await quotas.reserve_minute(
            sql, config_id, now, n, self.max_per_minute
        ):
            await quotas.release_day(sql, config_id, day, n)
            if self.probe:
                await breakers.release_probe(sql, config_id)
            return Reservation(False, "minute_limit")
        if self.message_id not in await _mark_in_flight(sql, [self]):
            raise LeaseLostError(self.message_id)
        return Reservation(True)

    @classmethod
    async def run_together(cls, sql: RawSql, members: Sequence[_Begin]) -> list[object]:
        """Each config's members reserve their recipients in one upsert; when that would pass
        the limit, they reserve one by one (exactly up to it). Then the reserved members are
        marked in flight in one statement; those whose lease was lost give their places back."""
        results: dict[int, object] = {}
        reserved: list[_Begin] = []
        by_config: dict[tuple[uuid.UUID, date], list[_Begin]] = {}
        for member in members:
            by_config.setdefault((member.config_id, member.day), []).append(member)
        for (config_id, day), group in sorted(by_config.items(), key=lambda kv: str(kv[0][0])):
            total = sum(m.recipients for m in group)
            limit = min(m.daily_limit for m in group)
            if await quotas.reserve_day(sql, config_id, day, total, limit):
                reserved += group
                continue
            for member in group:  # near the limit: first come, first served, exactly
                try:
                    results[id(member)] = await member(sql)
                except LeaseLostError as exc:  # raised after its reservation: give it back
                    await quotas.release_day(sql, member.config_id, member.day, member.recipients)
                    results[id(member)] = Refusal(exc)
        if reserved:
            mine = await _mark_in_flight(sql, reserved)
            for member in reserved:
                if member.message_id in mine:
                    results[id(member)] = Reservation(True)
                    continue
                await quotas.release_day(sql, member.config_id, member.day, member.recipients)
                results[id(member)] = Refusal(LeaseLostError(member.message_id))
        return [results[id(m)] for m in members]


#: _mark_in_flight's table: one row per member.
_IN_FLIGHT_COLUMNS = (
    ("message_id", "uuid"),
    ("config_id", "uuid"),
    ("attempt_count", "integer"),
    ("at", "timestamptz"),
    ("owner", "varchar"),
)
_IN_FLIGHT_UPDATE = (
    "UPDATE message SET in_flight_since = v.at, in_flight_config_id = v.config_id, "
    "attempt_count = v.attempt_count, updated_at = v.at FROM {values} "
    "WHERE message.id = v.message_id AND message.lease_owner = v.owner "
    "AND message.status = 'SENDING' RETURNING message.id"
)


async def _mark_in_flight(sql: RawSql, members: Sequence[_Begin]) -> set[uuid.UUID]:
    """Mark the members' messages in flight, with their SENDING (and FAILOVER) events, for
    those still leased to their owner; returns the ids marked. One statement on PostgreSQL
    (the update's RETURNING selects the events), two or three on SQLite."""
    table, values = sql.values_table(
        [(m.message_id, m.config_id, m.attempt, m.now, m.owner) for m in members],
        _IN_FLIGHT_COLUMNS,
    )
    events = [row for m in members for row in m.events()]
    if sql.postgres:
        more_ctes, more_values = event_ctes(sql, events)
        ctes = [f"v AS {table}", f"u AS ({_IN_FLIGHT_UPDATE.format(values='v')})", *more_ctes]
        rows = await sql.fetch(f"WITH {', '.join(ctes)} SELECT id FROM u", *values, *more_values)
        return {sql.uuid(r["id"]) for r in rows}
    rows = await sql.fetch(_IN_FLIGHT_UPDATE.format(values=f"{table} AS v"), *values)
    mine = {sql.uuid(r["id"]) for r in rows}
    await insert_event_rows(sql, [e for e in events if e[1] in mine])
    return mine


async def begin_attempt(
    message: Claimed,
    *,
    owner: str,
    config_id: uuid.UUID,
    daily_limit: int,
    max_per_minute: int | None,
    probe: bool,
    probe_timeout: timedelta,
    failover_from: uuid.UUID | None = None,
    now: datetime,
    batcher: WriteBatcher | None = None,
) -> Reservation:
    """Reserve the recipients against the config's daily (and per-minute) limit, claim the
    half-open probe slot if `probe`, and mark the message in flight, in one transaction.
    The reservation is atomic: concurrent workers on any database never exceed a limit.
    Rows are always locked usage first, then health (as finish_attempt does): no deadlock.

    :raises LeaseLostError: the message is no longer ours.
    """
    operation = _Begin(
        message_id=message.id,
        account_id=message.account_id,
        owner=owner,
        config_id=config_id,
        recipients=message.recipient_count,
        daily_limit=daily_limit,
        max_per_minute=max_per_minute,
        probe=probe,
        probe_timeout=probe_timeout,
        failover_from=failover_from,
        attempt=message.attempt_count + 1,
        now=now,
    )
    reservation = await _run(operation, batcher)
    if reservation.ok:
        message.attempt_count = operation.attempt
    return reservation


#: delivery_attempt's columns, then what _FinishSent's update needs besides: its table's columns.
_FINISH_COLUMNS = (
    ("message_id", "uuid"),
    ("config_id", "uuid"),
    ("number", "integer"),
    ("started_at", "timestamptz"),
    ("ended_at", "timestamptz"),
    ("outcome", "varchar"),
    ("smtp_code", "integer"),
    ("enhanced_code", "varchar"),
    ("reply", "text"),
    ("error_code", "varchar"),
    ("duration_ms", "float8"),
    ("owner", "varchar"),
)
_ATTEMPT_COLUMNS = ", ".join(name for name, _ in _FINISH_COLUMNS[:-1])
#: delivery_attempt's columns from _FinishSent's table aliased `v`.
_ATTEMPT_FROM_V = ", ".join(f"v.{name}" for name, _ in _FINISH_COLUMNS[:-1])
_FINISH_UPDATE = (
    "UPDATE message SET status = 'SENT', in_flight_since = NULL, in_flight_config_id = NULL, "
    "lease_owner = NULL, lease_expires_at = NULL, delivered_config_id = v.config_id, "
    "sent_at = v.ended_at, last_error_code = NULL, last_error_message = NULL, "
    "updated_at = v.ended_at FROM {values} WHERE message.id = v.message_id "
    "AND message.lease_owner = v.owner RETURNING message.id"
)
#: The configs of the messages the update `u` marked SENT.
_DONE_CONFIGS = "SELECT v.config_id FROM v JOIN u ON u.id = v.message_id"


@dataclass(frozen=True, eq=False)
class _FinishSent:
    """finish_attempt for a sent message (AttemptOutcome.sent). Combined over a flush: one
    message update, one attempt insert, one breaker update, one event insert."""

    rank: ClassVar[int] = 1
    group: ClassVar[str] = "sent"

    message_id: uuid.UUID
    account_id: uuid.UUID
    owner: str
    outcome: AttemptOutcome

    def row(self) -> tuple[object, ...]:
        """This member's row of the table (_FINISH_COLUMNS)."""
        a = self.outcome.attempt
        return (
            self.message_id,
            a.config_id,
            a.number,
            a.started_at,
            a.ended_at,
            self.outcome.stored_outcome,
            a.smtp_code,
            a.enhanced_code,
            a.reply,
            a.error_code,
            a.duration_ms,
            self.owner,
        )

    def event_rows(self) -> list[EventRow]:
        at = self.outcome.attempt.ended_at
        return [(self.account_id, self.message_id, e, at) for e in self.outcome.events]

    async def __call__(self, sql: RawSql) -> None:
        (result,) = await self.run_together(sql, [self])
        if isinstance(result, Refusal):
            raise result.error

    @classmethod
    async def run_together(cls, sql: RawSql, members: Sequence[_FinishSent]) -> list[object]:
        table, values = sql.values_table([m.row() for m in members], _FINISH_COLUMNS)
        if sql.postgres:
            # One round trip: the update's RETURNING feeds the other writes.
            more_ctes, more_values = event_ctes(sql, [e for m in members for e in m.event_rows()])
            ctes = [
                f"v AS {table}",
                f"u AS ({_FINISH_UPDATE.format(values='v')})",
                f"a AS (INSERT INTO delivery_attempt ({_ATTEMPT_COLUMNS}) "
                f"SELECT {_ATTEMPT_FROM_V} FROM v JOIN u ON u.id = v.message_id)",
                f"h AS ({breakers.CLOSE.format(configs=_DONE_CONFIGS)})",
                *more_ctes,
            ]
            query = f"WITH {', '.join(ctes)} SELECT id FROM u"
            rows = await sql.fetch(query, *values, *more_values)
            mine = {sql.uuid(r["id"]) for r in rows}
        else:
            rows = await sql.fetch(_FINISH_UPDATE.format(values=f"{table} AS v"), *values)
            mine = {sql.uuid(r["id"]) for r in rows}
            done = [m for m in members if m.message_id in mine]
            if done:
                marks = ", ".join("?" * len(done))
                await sql.execute(
                    f"INSERT INTO delivery_attempt ({_ATTEMPT_COLUMNS}) SELECT {_ATTEMPT_FROM_V} "
                    f"FROM {table} AS v WHERE v.message_id IN ({marks})",
                    *values,
                    *(m.message_id for m in done),
                )
                configs = sorted({m.outcome.attempt.config_id for m in done}, key=str)
                await breakers.close(sql, configs)
                await insert_event_rows(sql, [e for m in done for e in m.event_rows()])
        return [
            None if m.message_id in mine else Refusal(LeaseLostError(m.message_id)) for m in members
        ]


async def finish_attempt(
    message: Claimed,
    outcome: AttemptOutcome,
    *,
    owner: str,
    batcher: WriteBatcher | None = None,
) -> None:
    """Record an attempt's outcome with its events, in one transaction, if the message is
    still leased to `owner`.

    A SENDING outcome (failover) keeps the lease, for the next config; any other ends this
    delivery run. Rows are locked usage first, then health (as begin_attempt does).

    :raises LeaseLostError: the message is no longer ours.
    """
    if outcome.status == MessageStatus.SENT:
        # The common case, combined with the flush's other deliveries (see _FinishSent).
        await _run(_FinishSent(message.id, message.account_id, owner, outcome), batcher)
        message.status = outcome.status
        return
    attempt = outcome.attempt
    assert outcome.error is not None  # every outcome but SENT carries one
    error_code, error_message = outcome.error

    async def operation(sql: RawSql) -> None:
        keep_lease = outcome.status == MessageStatus.SENDING
        changed = await sql.execute(
            "UPDATE message SET status = ?, in_flight_since = NULL, in_flight_config_id = NULL, "
            "lease_owner = CASE WHEN ? THEN lease_owner ELSE NULL END, "
            "lease_expires_at = CASE WHEN ? THEN lease_expires_at ELSE NULL END, "
            "last_error_code = ?, last_error_message = ?, updated_at = ? "
            "WHERE id = ? AND lease_owner = ?",
            outcome.status.value,
            keep_lease,
            keep_lease,
            error_code,
            error_message,
            attempt.ended_at,
            message.id,
            owner,
        )
        if not changed:
            raise LeaseLostError(message.id)
        await sql.execute(
            f"INSERT INTO delivery_attempt ({_ATTEMPT_COLUMNS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            message.id,
            attempt.config_id,
            attempt.number,
            attempt.started_at,
            attempt.ended_at,
            outcome.stored_outcome,
            attempt.smtp_code,
            attempt.enhanced_code,
            attempt.reply,
            attempt.error_code,
            attempt.duration_ms,
        )
        if outcome.quota is Quota.RELEASE:
            await quotas.release_day(
                sql, attempt.config_id, utc_day(attempt.started_at), message.recipient_count
            )
        if outcome.breaker is Breaker.CLOSE:
            await breakers.close(sql, [attempt.config_id])
        elif outcome.breaker is Breaker.COUNT_FAILURE:
            assert outcome.after_failure is not None  # checked when the outcome was built
            await breakers.count_failure(
                sql,
                attempt.config_id,
                after_failure=outcome.after_failure,
                error_code=attempt.error_code,
            )
        await insert_event_rows(
            sql, [(message.account_id, message.id, e, attempt.ended_at) for e in outcome.events]
        )

    await _run(operation, batcher)
    message.status = outcome.status


async def end_without_attempt(
    message: Claimed,
    *,
    owner: str,
    status: MessageStatus,
    event: Event,
    now: datetime,
    next_attempt_at: datetime | None,
    error: tuple[str, str],
    batcher: WriteBatcher | None = None,
) -> None:
    """DEFERRED (no config can take it now) or FAILED (too old), with no SMTP attempt.

    :raises LeaseLostError: the message is no longer ours.
    """

    async def operation(sql: RawSql) -> None:
        changed = await sql.execute(
            "UPDATE message SET status = ?, lease_owner = NULL, lease_expires_at = NULL, "
            "next_attempt_at = COALESCE(?, next_attempt_at), last_error_code = ?, "
            "last_error_message = ?, updated_at = ?, "
            "deferrals = deferrals + CASE WHEN ? = 'DEFERRED' THEN 1 ELSE 0 END "
            "WHERE id = ? AND lease_owner = ?",
            status.value,
            next_attempt_at,
            error[0],
            error[1],
            now,
            status.value,
            message.id,
            owner,
        )
        if not changed:
            raise LeaseLostError(message.id)
        await insert_event_rows(sql, [(message.account_id, message.id, event, now)])

    await _run(operation, batcher)
    message.status = status
