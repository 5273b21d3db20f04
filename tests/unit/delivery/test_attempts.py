"""Given an attempt's outcome built by one of AttemptOutcome's constructors, then it carries
the status, stored outcome, events and breaker/quota effects that outcome means; and an
outcome that contradicts itself cannot be built."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from mailsage_gql.delivery.attempts import AttemptOutcome, AttemptRecord, Breaker, Quota
from mailsage_gql.delivery.outbox import Event
from mailsage_gql.delivery.policy import Health
from mailsage_gql.models import MessageStatus

CONFIG = uuid.uuid4()
STARTED = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
ERROR = ("smtp_recipient_rejected", "550 5.1.1 no such user")


def record(**changes: object) -> AttemptRecord:
    values: dict[str, object] = {
        "config_id": CONFIG,
        "number": 2,
        "started_at": STARTED,
        "ended_at": STARTED + timedelta(milliseconds=40),
        "smtp_code": 550,
        "enhanced_code": "5.1.1",
        "reply": ERROR[1],
        "error_code": ERROR[0],
    }
    values.update(changes)
    return AttemptRecord(**values)  # type: ignore[arg-type]


def open_breaker(health: Health) -> Health:
    return Health(consecutive_failures=health.consecutive_failures + 1)


def test_an_attempt_record_measures_its_duration() -> None:
    assert record().duration_ms == pytest.approx(40.0)


def test_a_sent_outcome_closes_the_breaker_keeps_the_quota_and_carries_its_events() -> None:
    sent = Event("SENT", smtp_config_id=CONFIG, attempt=2, smtp_code=250)
    attempt = record(smtp_code=250, enhanced_code="2.0.0", reply="ok", error_code=None)

    outcome = AttemptOutcome.sent(attempt, [sent])

    assert outcome.status == MessageStatus.SENT
    assert outcome.stored_outcome == "sent"
    assert outcome.events == (sent,)
    assert outcome.error is None
    assert (outcome.breaker, outcome.quota) == (Breaker.CLOSE, Quota.KEEP)


@pytest.mark.parametrize(
    ("build", "status", "stored", "breaker", "quota"),
    [
        (AttemptOutcome.rejected, MessageStatus.FAILED, "failed", Breaker.CLOSE, Quota.KEEP),
        (
            AttemptOutcome.failed_unsent,
            MessageStatus.FAILED,
            "failed",
            Breaker.LEAVE,
            Quota.RELEASE,
        ),
        (
            AttemptOutcome.uncertain,
            MessageStatus.UNCERTAIN,
            "uncertain",
            Breaker.CLOSE,
            Quota.KEEP,
        ),
    ],
)
def test_a_final_failure_ends_with_one_event_of_its_status_carrying_the_error(
    build: object, status: MessageStatus, stored: str, breaker: Breaker, quota: Quota
) -> None:
    outcome = build(record(), ERROR)  # type: ignore[operator]

    assert outcome.status == status
    assert outcome.stored_outcome == stored
    assert (outcome.breaker, outcome.quota) == (breaker, quota)
    assert outcome.error == ERROR
    assert outcome.events == (
        Event(
            status.value,
            smtp_config_id=CONFIG,
            attempt=2,
            code=ERROR[0],
            smtp_code=550,
            enhanced_code="5.1.1",
            detail=ERROR[1],
        ),
    )


@pytest.mark.parametrize("quota", [Quota.KEEP, Quota.RELEASE])
def test_a_failover_keeps_the_message_sending_without_an_event_and_counts_a_failure(
    quota: Quota,
) -> None:
    outcome = AttemptOutcome.failover(record(), ERROR, after_failure=open_breaker, quota=quota)

    assert outcome.status == MessageStatus.SENDING
    assert outcome.stored_outcome == "failover"
    assert outcome.events == ()
    assert outcome.error == ERROR
    assert outcome.quota is quota
    assert outcome.breaker is Breaker.COUNT_FAILURE
    assert outcome.after_failure is open_breaker


def consistent() -> dict[str, object]:
    """The fields of a consistent outcome (a failure found before sending)."""
    return {
        "status": MessageStatus.FAILED,
        "attempt": record(),
        "events": (),
        "error": ERROR,
        "breaker": Breaker.LEAVE,
        "quota": Quota.RELEASE,
    }


@pytest.mark.parametrize(
    "fields",
    [
        # an attempt never leaves a message queued or deferred
        {"status": MessageStatus.DEFERRED},
        {"status": MessageStatus.QUEUED},
        # SENT carries no error; every other outcome carries one
        {"status": MessageStatus.SENT, "error": ERROR},
        {"error": None},
        # a failure transition only with COUNT_FAILURE, and COUNT_FAILURE only with one
        {"breaker": Breaker.COUNT_FAILURE},
        {"after_failure": open_breaker},
        # a sent message's provider answered, and the send counts
        {"status": MessageStatus.SENT, "error": None, "quota": Quota.RELEASE},
        {"status": MessageStatus.SENT, "error": None, "breaker": Breaker.LEAVE},
    ],
)
def test_an_outcome_that_contradicts_itself_is_refused(fields: dict[str, object]) -> None:
    AttemptOutcome(**consistent())  # type: ignore[arg-type]

    with pytest.raises(ValueError):
        AttemptOutcome(**(consistent() | fields))  # type: ignore[arg-type]
