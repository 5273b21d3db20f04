"""Classification of SMTP outcomes into the MailsageError tree."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailsage_gql.errors import (
    SmtpAuthError,
    SmtpConnectionError,
    SmtpError,
    SmtpMessageRejectedError,
    SmtpRateLimitError,
    SmtpRecipientRejectedError,
    SmtpTemporaryError,
    SmtpTimeoutError,
    SmtpUncertainError,
)
from mailsage_gql.smtp.replies import (
    Failure,
    classify,
    classify_refused,
    enhanced_code,
    parse_reply,
)

GMAIL_QUOTA = (
    "550-5.4.5 Daily user sending quota exceeded.\r\n"
    "550 5.4.5 For more information, go to https://support.google.com/mail/?p=SendingQuota"
)

REPLY_CASES = [
    # stage, raw reply, expected class, expected enhanced code
    ("data", GMAIL_QUOTA, SmtpRateLimitError, "5.4.5"),
    ("mail", "421 4.7.0 Try again later, closing connection.", SmtpRateLimitError, "4.7.0"),
    ("connect", "421 4.7.0 Try again later, closing connection.", SmtpRateLimitError, "4.7.0"),
    ("rcpt", "452 4.2.2 mailbox full", SmtpTemporaryError, "4.2.2"),
    ("rcpt", "452 4.2.2 The account you tried to reach is over quota", SmtpTemporaryError, "4.2.2"),
    ("rcpt", "550 5.1.1 user unknown", SmtpRecipientRejectedError, "5.1.1"),
    ("rcpt", "552 5.2.2 Mailbox full, quota exceeded", SmtpRecipientRejectedError, "5.2.2"),
    ("data", "554 5.7.1 spam", SmtpMessageRejectedError, "5.7.1"),
    ("data", "552 5.3.4 Message size exceeds fixed limit", SmtpMessageRejectedError, "5.3.4"),
    ("data", "554 5.7.0 Too many messages sent, rate limit exceeded", SmtpRateLimitError, "5.7.0"),
    (
        "mail",
        "553 5.7.1 Sender address rejected: not owned by user",
        SmtpMessageRejectedError,
        "5.7.1",
    ),
    ("auth", "535 5.7.8 Authentication credentials invalid", SmtpAuthError, "5.7.8"),
    ("auth", "534 5.7.9 Application-specific password required", SmtpAuthError, "5.7.9"),
    ("mail", "530 5.7.0 Authentication required", SmtpAuthError, "5.7.0"),
    ("auth", "504 5.5.4 Unrecognized authentication type", SmtpAuthError, "5.5.4"),
    ("auth", "454 4.7.0 Temporary authentication failure", SmtpTemporaryError, "4.7.0"),
    (
        "connect",
        "421 Service not available, closing transmission channel",
        SmtpConnectionError,
        None,
    ),
    ("connect", "554 No SMTP service here", SmtpConnectionError, None),
    ("tls", "454 4.7.0 TLS not available due to local problem", SmtpConnectionError, "4.7.0"),
    ("mail", "451 4.7.1 Rate limit exceeded, try again later", SmtpRateLimitError, "4.7.1"),
    ("rcpt", "451 4.7.1 Rate limit exceeded, try again later", SmtpRateLimitError, "4.7.1"),
    (
        "rcpt",
        "450 4.2.1 The user is receiving mail at a rate that prevents more",
        SmtpRateLimitError,
        "4.2.1",
    ),
    ("mail", "451 4.3.2 System not accepting network messages", SmtpRateLimitError, "4.3.2"),
    ("rcpt", "452 Too many recipients", SmtpRateLimitError, None),
    ("mail", "450 Sending quota reached for this hour", SmtpRateLimitError, None),
    ("mail", "451 Message limit reached", SmtpRateLimitError, None),
    ("mail", "450 Requested action not taken: mailbox unavailable", SmtpTemporaryError, None),
    ("data", "451 4.3.0 Local error in processing", SmtpTemporaryError, "4.3.0"),
    ("data", "421 4.4.2 Connection timed out", SmtpTemporaryError, "4.4.2"),
    (
        "rcpt",
        "450 4.1.8 Sender address rejected: unverified and generated",
        SmtpTemporaryError,
        "4.1.8",
    ),
]


@pytest.mark.parametrize(("stage", "raw", "expected", "enhanced"), REPLY_CASES)
def test_a_reply_is_classified_by_code_enhanced_code_and_stage(
    stage: str, raw: str, expected: type[SmtpError], enhanced: str | None
) -> None:
    # given a server reply at a stage
    code, text = parse_reply(raw)

    # when it is classified
    error = classify(stage, code=code, text=text, server="smtp.example.com")  # type: ignore[arg-type]

    # then it is exactly the expected class, carrying the facts
    assert type(error) is expected
    assert error.stage == stage
    assert error.smtp_code == code
    assert error.enhanced_code == enhanced


FAILURE_CASES = [
    ("connect", Failure.UNREACHABLE, SmtpConnectionError),
    ("connect", Failure.TIMEOUT, SmtpTimeoutError),
    ("connect", Failure.DISCONNECTED, SmtpConnectionError),
    ("tls", Failure.TLS, SmtpConnectionError),
    ("tls", Failure.NOT_OFFERED, SmtpConnectionError),
    ("auth", Failure.NOT_OFFERED, SmtpAuthError),
    ("auth", Failure.TIMEOUT, SmtpTimeoutError),
    ("mail", Failure.DISCONNECTED, SmtpConnectionError),
    ("mail", Failure.NOT_OFFERED, SmtpMessageRejectedError),
    ("rcpt", Failure.TIMEOUT, SmtpTimeoutError),
    ("data", Failure.DISCONNECTED, SmtpConnectionError),
    ("data", Failure.TIMEOUT, SmtpTimeoutError),
    ("data", Failure.PROTOCOL, SmtpConnectionError),
    ("after_data", Failure.DISCONNECTED, SmtpUncertainError),
    ("after_data", Failure.TIMEOUT, SmtpUncertainError),
    ("after_data", Failure.PROTOCOL, SmtpUncertainError),
]


@pytest.mark.parametrize(("stage", "failure", "expected"), FAILURE_CASES)
def test_a_failure_without_a_reply_is_classified_by_kind_and_stage(
    stage: str, failure: Failure, expected: type[SmtpError]
) -> None:
    # given a failure that carries no reply
    # when it is classified
    error = classify(stage, failure=failure, text="connection lost", server="mx")  # type: ignore[arg-type]

    # then the class follows the stage: only after the final dot is it uncertain
    assert type(error) is expected
    assert error.stage == stage
    assert error.smtp_code is None


def test_an_unparseable_final_reply_is_uncertain() -> None:
    # given a reply outside 4xx/5xx after the final dot (e.g. a 354 out of sequence)
    # when it is classified
    error = classify("after_data", code=354, text="go ahead")

    # then we cannot know if the message was accepted
    assert isinstance(error, SmtpUncertainError)


def test_a_timeout_error_is_also_a_builtin_timeout_and_connection_error() -> None:
    error = classify("connect", failure=Failure.TIMEOUT, text="timed out")

    assert isinstance(error, TimeoutError)
    assert isinstance(error, ConnectionError)


def test_the_message_names_the_stage_the_server_and_its_reply() -> None:
    # given Gmail's multi-line quota reply
    code, text = parse_reply(GMAIL_QUOTA)

    # when classified at DATA
    error = classify("data", code=code, text=text, server="smtp.gmail.com")

    # then a user can tell what failed, where, and what the server said
    message = str(error)
    assert "DATA" in message
    assert "smtp.gmail.com" in message
    assert "550 5.4.5 Daily user sending quota exceeded." in message
    assert "\n" not in message


def test_the_uncertain_message_says_the_message_will_not_be_resent() -> None:
    error = classify("after_data", failure=Failure.DISCONNECTED, text="connection lost")

    assert "may have been delivered" in str(error)


def test_when_every_recipient_is_refused_the_most_retryable_outcome_wins() -> None:
    # given one permanent and one rate-limited refusal
    refused = {
        "gone@example.com": (550, "5.1.1 user unknown"),
        "busy@example.com": (451, "4.7.1 slow down"),
    }

    # when classified
    error = classify_refused(refused, server="mx")

    # then retrying later is still worth it
    assert isinstance(error, SmtpRateLimitError)
    assert "busy@example.com" in str(error)


def test_when_every_recipient_is_permanently_refused_it_is_a_recipient_rejection() -> None:
    refused = {"a@example.com": (550, "5.1.1 user unknown"), "b@example.com": (553, "bad")}

    error = classify_refused(refused)

    assert isinstance(error, SmtpRecipientRejectedError)
    assert error.smtp_code == 550


def test_a_recipient_address_does_not_influence_classification() -> None:
    # given a permanent refusal for an address containing the word "rate"
    refused = {"rate@example.com": (550, "5.1.1 user unknown")}

    # when classified
    error = classify_refused(refused)

    # then the address is in the message but not read as a rate limit
    assert isinstance(error, SmtpRecipientRejectedError)
    assert "rate@example.com" in str(error)


@pytest.mark.parametrize(
    ("code", "text", "expected"),
    [
        (550, "5.1.1 user unknown", "5.1.1"),
        (550, "4.1.1 wrong class for a 5xx", None),
        (250, "2.0.0 OK", "2.0.0"),
        (250, "OK queued as 5.1.1", None),
        (451, "4.7.10 two-digit detail", "4.7.10"),
        (550, "5.1.1.1 not an enhanced code", None),
    ],
)
def test_the_enhanced_code_is_read_from_the_start_of_the_reply(
    code: int, text: str, expected: str | None
) -> None:
    assert enhanced_code(code, text) == expected


STAGES = st.sampled_from(["connect", "tls", "auth", "mail", "rcpt", "data"])


@given(stage=STAGES, code=st.integers(min_value=400, max_value=499), text=st.text())
def test_a_4xx_reply_is_never_a_permanent_rejection(stage: str, code: int, text: str) -> None:
    error = classify(stage, code=code, text=text)  # type: ignore[arg-type]

    assert error.provider_failure
    assert type(error) in {SmtpRateLimitError, SmtpTemporaryError, SmtpConnectionError}


@given(stage=STAGES, code=st.integers(min_value=500, max_value=599), text=st.text())
def test_a_5xx_reply_is_never_temporary(stage: str, code: int, text: str) -> None:
    error = classify(stage, code=code, text=text)  # type: ignore[arg-type]

    assert not isinstance(error, SmtpTemporaryError)
    assert error.smtp_code == code


@given(
    klass=st.sampled_from([2, 4, 5]),
    subject=st.integers(min_value=0, max_value=999),
    detail=st.integers(min_value=0, max_value=999),
    rest=st.text(alphabet=st.characters(blacklist_characters="0123456789."), max_size=20),
)
def test_an_enhanced_code_round_trips(klass: int, subject: int, detail: int, rest: str) -> None:
    code = klass * 100 + 50
    enhanced = f"{klass}.{subject}.{detail}"

    assert enhanced_code(code, f"{enhanced}{rest}") == enhanced
