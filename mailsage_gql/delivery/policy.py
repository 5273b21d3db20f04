"""Delivery policy: failover order, circuit breaker, retry schedule; pure, time is an argument."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from mailsage_gql.delivery.clock import next_reset


class Skip(StrEnum):
    """Why a config was passed over for a message right now."""

    DAILY_LIMIT = "daily_limit"
    MINUTE_LIMIT = "minute_limit"
    CIRCUIT_OPEN = "circuit_open"
    EXHAUSTED = "exhausted"


@dataclass(frozen=True)
class Health:
    """A config's shared breaker state, as read from the database.

    closed: opened_until is None. open: now < opened_until. half-open: now >= opened_until,
    and one probe message may go through. exhausted: a quota reply until exhausted_until.
    """

    consecutive_failures: int = 0
    opened_until: datetime | None = None
    exhausted_until: datetime | None = None


@dataclass(frozen=True)
class Candidate:
    config_id: uuid.UUID
    priority: int
    daily_limit: int
    sent_today: int
    health: Health = Health()


@dataclass(frozen=True)
class Plan:
    """Configs to try in order (`probe` marks the half-open ones), and why others were skipped,
    with the earliest moment a skipped one becomes usable again."""

    order: tuple[tuple[uuid.UUID, bool], ...]
    skipped: tuple[tuple[uuid.UUID, Skip], ...]
    available_again_at: datetime | None


def plan_failover(
    candidates: Sequence[Candidate],
    *,
    requested: uuid.UUID | None,
    recipients: int,
    now: datetime,
) -> Plan:
    """The requested config (or the caller's default, passed as `requested`) first, then the
    others by priority (the input order breaks ties), skipping those at their daily limit,
    exhausted by a provider quota reply, or with an open circuit."""
    ordered = sorted(candidates, key=lambda c: (c.config_id != requested, c.priority))
    order: list[tuple[uuid.UUID, bool]] = []
    skipped: list[tuple[uuid.UUID, Skip]] = []
    again: list[datetime] = []
    for c in ordered:
        health = c.health
        if health.exhausted_until is not None and now < health.exhausted_until:
            skipped.append((c.config_id, Skip.EXHAUSTED))
            again.append(health.exhausted_until)
        elif c.sent_today + recipients > c.daily_limit:
            skipped.append((c.config_id, Skip.DAILY_LIMIT))
            again.append(next_reset(now))
        elif health.opened_until is not None and now < health.opened_until:
            skipped.append((c.config_id, Skip.CIRCUIT_OPEN))
            again.append(health.opened_until)
        else:
            order.append((c.config_id, health.opened_until is not None))
    return Plan(tuple(order), tuple(skipped), min(again) if again else None)


def refused_at_reservation(
    plan: Plan, refused: Sequence[tuple[uuid.UUID, Skip]], *, now: datetime
) -> Plan:
    """`plan` with the configs that looked usable but refused the reservation (another
    worker took the last places first) counted as skipped: a daily limit is usable again at
    the next reset, a per-minute limit at the next minute; a probe taken by another worker
    gives no time (the backoff decides)."""
    again = [plan.available_again_at] if plan.available_again_at is not None else []
    for _, reason in refused:
        if reason is Skip.DAILY_LIMIT:
            again.append(next_reset(now))
        elif reason is Skip.MINUTE_LIMIT:
            again.append(now.replace(second=0, microsecond=0) + timedelta(minutes=1))
    return Plan(plan.order, (*plan.skipped, *refused), min(again) if again else None)


def after_failure(
    health: Health,
    *,
    code: str,
    now: datetime,
    threshold: int,
    cooldown: timedelta,
    quota: bool = False,
) -> Health:
    """The breaker after a provider failure: opens at `threshold` consecutive failures, or at
    once on an auth failure or a failed probe; a quota reply exhausts until the next reset."""
    failures = health.consecutive_failures + 1
    probing = health.opened_until is not None and now >= health.opened_until
    opens = failures >= threshold or code == "smtp_auth_error" or probing
    updated = replace(
        health,
        consecutive_failures=failures,
        opened_until=now + cooldown if opens else health.opened_until,
    )
    if quota:
        updated = replace(updated, exhausted_until=next_reset(now))
    return updated


def retry_delay(deferrals: int, schedule: Sequence[float]) -> timedelta:
    """Backoff before retry number `deferrals` (0-based): 1, 5, 15, 30 minutes, then hourly."""
    if not schedule:
        return timedelta(minutes=1)
    return timedelta(seconds=schedule[min(deferrals, len(schedule) - 1)])


def next_attempt_at(
    *,
    now: datetime,
    deferrals: int,
    schedule: Sequence[float],
    available_again_at: datetime | None,
) -> datetime:
    """When a deferred message is released: its backoff, or sooner when a skipped config
    becomes usable again (a limit resets, a circuit half-opens)."""
    at = now + retry_delay(deferrals, schedule)
    if available_again_at is not None and now < available_again_at < at:
        return available_again_at
    return at


def expired(*, created_at: datetime, now: datetime, max_age: float) -> bool:
    return now - created_at >= timedelta(seconds=max_age)
