"""The pure parts of the connection module: DATA payload preparation, exception translation."""

from __future__ import annotations

import ssl

import pytest
from aiosmtplib.errors import (
    SMTPAuthenticationError,
    SMTPConnectError,
    SMTPConnectTimeoutError,
    SMTPDataError,
    SMTPResponseException,
    SMTPServerDisconnected,
)
from hypothesis import given
from hypothesis import strategies as st

from mailsage_gql.errors import (
    SmtpAuthError,
    SmtpConnectionError,
    SmtpMessageRejectedError,
    SmtpTimeoutError,
    SmtpUncertainError,
)
from mailsage_gql.smtp.connection import prepare_body, translate


def test_a_clean_crlf_message_is_sent_unchanged() -> None:
    data = b"Subject: hi\r\n\r\nbody\r\n"

    assert prepare_body(data) == data


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"a\nb", b"a\r\nb\r\n"),
        (b"a\rb\r\n", b"a\r\nb\r\n"),
        (b".starts with a dot\r\n", b"..starts with a dot\r\n"),
        (b"x\r\n.\r\ny\r\n", b"x\r\n..\r\ny\r\n"),
        # SMTP smuggling: a bare-LF end of data must not survive as one.
        (b"x\n.\nMAIL FROM:<evil@example.com>\n", b"x\r\n..\r\nMAIL FROM:<evil@example.com>\r\n"),
    ],
)
def test_line_endings_are_normalised_and_leading_dots_doubled(data: bytes, expected: bytes) -> None:
    assert prepare_body(data) == expected


@given(st.binary(max_size=300) | st.text(alphabet="ab.\r\n", max_size=60).map(str.encode))
def test_no_message_can_end_the_data_early(data: bytes) -> None:
    # given any message bytes
    # when prepared for DATA
    body = prepare_body(data)

    # then every line ends in CRLF, there is no bare CR or LF, and no line is a lone "."
    assert body.endswith(b"\r\n")
    assert body.count(b"\r") == body.count(b"\n") == body.count(b"\r\n")
    assert b"\r\n.\r\n" not in b"\r\n" + body


def test_a_password_echoed_by_the_server_is_redacted() -> None:
    # given an AUTH failure whose reply text echoes the password
    exc = SMTPAuthenticationError(535, "5.7.8 bad credentials for hunter2hunter2")

    # when translated with the password as the secret
    error = translate(exc, "auth", "mx", secret="hunter2hunter2")

    # then the password is gone from everything a user or a log sees
    assert isinstance(error, SmtpAuthError)
    assert "hunter2hunter2" not in str(error)
    assert "hunter2hunter2" not in repr(error)
    assert error.smtp_code == 535


@pytest.mark.parametrize(
    ("exc", "stage", "expected", "expected_stage"),
    [
        (SMTPConnectError("Error connecting: refused"), "connect", SmtpConnectionError, "connect"),
        (SMTPConnectTimeoutError("Timed out connecting"), "connect", SmtpTimeoutError, "connect"),
        (SMTPServerDisconnected("Connection lost"), "data", SmtpConnectionError, "data"),
        (SMTPServerDisconnected("Connection lost"), "after_data", SmtpUncertainError, "after_data"),
        (TimeoutError(), "after_data", SmtpUncertainError, "after_data"),
        (SMTPDataError(554, "5.7.1 spam"), "data", SmtpMessageRejectedError, "data"),
        (
            SMTPResponseException(-1, "Malformed SMTP response line"),
            "mail",
            SmtpConnectionError,
            "mail",
        ),
    ],
)
def test_aiosmtplib_exceptions_become_classified_errors(
    exc: BaseException, stage: str, expected: type, expected_stage: str
) -> None:
    error = translate(exc, stage, "mx")  # type: ignore[arg-type]

    assert type(error) is expected
    assert error.stage == expected_stage


def test_a_certificate_failure_wrapped_by_aiosmtplib_is_a_tls_failure() -> None:
    # given aiosmtplib's wrapping of an implicit-TLS handshake failure
    cause = ssl.SSLCertVerificationError("certificate verify failed")
    exc = SMTPConnectError("Error connecting to mx on port 465")
    exc.__cause__ = cause

    # when translated at the connect stage
    error = translate(exc, "connect", "mx")

    # then it is reported at the tls stage
    assert type(error) is SmtpConnectionError
    assert error.stage == "tls"
    assert "certificate verify failed" in str(error)
