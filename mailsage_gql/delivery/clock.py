"""UTC day arithmetic for daily limits: pure, the time comes in as an argument."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta


def utc_now() -> datetime:
    return datetime.now(UTC)


def utc_day(now: datetime) -> date:
    """The UTC calendar day `now` falls in; daily limits count per such day."""
    return now.astimezone(UTC).date()


def next_reset(now: datetime) -> datetime:
    """The next midnight UTC strictly after `now`: when a daily limit resets."""
    return datetime.combine(utc_day(now) + timedelta(days=1), time.min, tzinfo=UTC)
