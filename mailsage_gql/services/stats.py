"""Delivery statistics per account, provider and UTC day, from the outbox and the attempts."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from mailsage_gql.database import RawSql, db_connection
from mailsage_gql.errors import ValidationError
from mailsage_gql.models import SmtpConfig
from mailsage_gql.settings import Settings

MAX_RANGE = timedelta(days=366)
OUTCOME_EVENTS = ("SENT", "FAILED", "DEFERRED", "UNCERTAIN", "FAILOVER")


def rate(sent: int, finished: int) -> float | None:
    return None if finished == 0 else sent / finished


@dataclass
class Counts:
    sent: int = 0
    failed: int = 0
    deferred: int = 0
    uncertain: int = 0
    failovers: int = 0

    @property
    def delivery_rate(self) -> float | None:
        """Delivered among messages that reached an end (sent, failed or uncertain)."""
        return rate(self.sent, self.sent + self.failed + self.uncertain)


@dataclass
class ConfigStats:
    """Attempts through one provider: what it delivered, refused or failed over from."""

    smtp_config_id: uuid.UUID
    name: str | None
    sent: int = 0
    failed: int = 0
    uncertain: int = 0
    failovers: int = 0
    errors: Counter[str] = field(default_factory=Counter)

    @property
    def attempts(self) -> int:
        return self.sent + self.failed + self.uncertain + self.failovers

    @property
    def delivery_rate(self) -> float | None:
        return rate(self.sent, self.attempts)


@dataclass
class DayStats(Counts):
    day: str = ""


@dataclass
class StatsRecord:
    start: datetime
    end: datetime
    totals: Counts
    errors: Counter[str]
    per_config: list[ConfigStats]
    per_day: list[DayStats]


def _day_expression(sql: RawSql, column: str) -> str:
    if sql.postgres:
        return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
    return f"substr({column}, 1, 10)"  # stored as UTC text, 'YYYY-MM-DD HH:MM:SS...'


async def delivery_stats(
    account_id: uuid.UUID,
    *,
    start: datetime,
    end: datetime,
    smtp_config_id: str | None,
    settings: Settings,
) -> StatsRecord:
    """Counts over [start, end): message outcomes from events, per-provider results and error
    codes from attempts, and a per-UTC-day series.

    :raises ValidationError: an empty, reversed, naive or over-long range.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValidationError("from and to need a time zone (e.g. Z)", field="from")
    if not start < end:
        raise ValidationError("from must be before to", field="from")
    if end - start > MAX_RANGE:
        raise ValidationError("the range is at most 366 days", field="to")
    config: uuid.UUID | None = None
    if smtp_config_id is not None:
        try:
            config = uuid.UUID(smtp_config_id)
        except ValueError:
            config = uuid.UUID(int=0)  # matches nothing, like another account's id
    sql = RawSql(db_connection(settings))
    config_clause = " AND e.smtp_config_id = ?" if config else ""
    event_rows = await sql.fetch(
        f"SELECT e.type AS type, {_day_expression(sql, 'e.at')} AS day, COUNT(*) AS n "
        "FROM delivery_event e WHERE e.account_id = ? AND e.at >= ? AND e.at < ? "
        f"AND e.type IN ('SENT', 'FAILED', 'DEFERRED', 'UNCERTAIN', 'FAILOVER'){config_clause} "
        "GROUP BY 1, 2",
        account_id,
        start,
        end,
        *([config] if config else []),
    )
    attempt_clause = " AND a.config_id = ?" if config else ""
    attempt_rows = await sql.fetch(
        "SELECT a.config_id AS config_id, a.outcome AS outcome, a.error_code AS error_code, "
        "COUNT(*) AS n FROM delivery_attempt a JOIN message m ON m.id = a.message_id "
        f"WHERE m.account_id = ? AND a.ended_at >= ? AND a.ended_at < ?{attempt_clause} "
        "GROUP BY 1, 2, 3",
        account_id,
        start,
        end,
        *([config] if config else []),
    )
    totals = Counts()
    days: dict[str, DayStats] = {}
    for row in event_rows:
        key = {"FAILOVER": "failovers"}.get(row["type"], row["type"].lower())
        day = days.setdefault(row["day"], DayStats(day=row["day"]))
        for counts in (totals, day):
            setattr(counts, key, getattr(counts, key) + int(row["n"]))
    names = dict(await SmtpConfig.filter(account_id=account_id).values_list("id", "name"))
    names = {uuid.UUID(str(k)): v for k, v in names.items()}
    per_config: dict[uuid.UUID, ConfigStats] = {}
    errors: Counter[str] = Counter()
    for row in attempt_rows:
        if row["config_id"] is None:
            continue
        config_id = sql.uuid(row["config_id"])
        stats = per_config.setdefault(config_id, ConfigStats(config_id, names.get(config_id)))
        n = int(row["n"])
        outcome = {"failover": "failovers"}.get(row["outcome"], row["outcome"])
        if outcome in {"sent", "failed", "uncertain", "failovers"}:
            setattr(stats, outcome, getattr(stats, outcome) + n)
        if row["error_code"]:
            stats.errors[row["error_code"]] += n
            errors[row["error_code"]] += n
    return StatsRecord(
        start=start,
        end=end,
        totals=totals,
        errors=errors,
        per_config=sorted(per_config.values(), key=lambda s: (s.name or "", str(s.smtp_config_id))),
        per_day=[days[d] for d in sorted(days)],
    )
