"""verify_endpoint and send_test_message against real aiosmtpd servers, faults included."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

import pytest
import trustme

from mailsage_gql.errors import (
    SmtpAuthError,
    SmtpConnectionError,
    SmtpError,
    SmtpMessageRejectedError,
    SmtpRateLimitError,
    SmtpRecipientRejectedError,
    SmtpTimeoutError,
    SmtpUncertainError,
    ValidationError,
)
from mailsage_gql.smtp import (
    OutgoingMessage,
    SmtpEndpoint,
    TransportOptions,
    send_test_message,
    verify_endpoint,
)
from tests.support.smtp_sink import SinkFactory, SmtpSink

USER, PASSWORD = "mailer", "correct-horse-battery-staple"


def options(ca_file: str | None = None, **overrides: Any) -> TransportOptions:
    values: dict[str, Any] = {
        "connect_timeout": 5.0,
        "command_timeout": 5.0,
        "message_timeout": 10.0,
        "ca_file": ca_file,
        "allow_private_hosts": True,
        "helo_name": "client.test",
    }
    values.update(overrides)
    return TransportOptions(**values)


def endpoint(sink: SmtpSink, *, host: str | None = None, **overrides: Any) -> SmtpEndpoint:
    values: dict[str, Any] = {
        "host": host or sink.host,
        "port": sink.port,
        "use_tls": sink.tls != "none",
        "implicit_tls": True if sink.tls == "implicit" else None,
    }
    if sink.auth:
        values["username"], values["password"] = sink.auth
    values.update(overrides)
    return SmtpEndpoint(**values)


def message(
    subject: str = "Hello", recipients: tuple[str, ...] = ("to@example.com",)
) -> OutgoingMessage:
    mail = EmailMessage()
    mail["From"] = "Sender <from@example.com>"
    mail["To"] = ", ".join(recipients)
    mail["Subject"] = subject
    mail["Message-ID"] = f"<{subject.replace(' ', '-')}@mailsage.test>"
    mail.set_content("Hi there.\n.\nA line with a lone dot above.\n")
    data = mail.as_bytes(policy=mail.policy.clone(linesep="\r\n"))
    return OutgoingMessage(sender="from@example.com", recipients=recipients, data=data)


async def test_starttls_with_the_test_ca_and_auth_is_verified(
    smtp_sink: SinkFactory, smtp_ca_file: str
) -> None:
    # given a STARTTLS server with AUTH and a certificate from the test CA
    sink = await smtp_sink(tls="starttls", auth=(USER, PASSWORD))

    # when the configuration is verified
    result = await verify_endpoint(endpoint(sink), options(smtp_ca_file))

    # then TLS was negotiated and AUTH accepted
    assert result.smtp_code == 235
    assert result.enhanced_code == "2.7.0"
    assert result.tls_version is not None and result.tls_version.startswith("TLS")
    assert result.authenticated
    assert result.duration_ms > 0
    assert sink.auth_attempts == 1


async def test_implicit_tls_on_a_non_465_port_sends_the_message(
    smtp_sink: SinkFactory, smtp_ca_file: str
) -> None:
    # given an implicit-TLS server on a random port, and an endpoint forcing implicit TLS
    sink = await smtp_sink(tls="implicit", auth=(USER, PASSWORD))
    target = endpoint(sink, implicit_tls=True)
    assert target.tls_mode == "implicit"

    # when a test message is sent
    result = await send_test_message(target, options(smtp_ca_file), message("Implicit"))

    # then it arrives
    assert result.smtp_code == 250
    received = await sink.wait_for_messages(1)
    assert received[0].subject == "Implicit"


async def test_the_test_message_arrives_with_its_envelope_and_headers(
    smtp_sink: SinkFactory,
) -> None:
    # given a plain server
    sink = await smtp_sink()

    # when a test message is sent
    result = await send_test_message(endpoint(sink), options(), message("Welcome aboard"))

    # then the server got the envelope and the headers, and the dot line survived
    assert (result.smtp_code, result.enhanced_code, result.refused) == (250, "2.0.0", {})
    [received] = await sink.wait_for_messages(1)
    assert received.mail_from == "from@example.com"
    assert received.rcpt_tos == ("to@example.com",)
    assert received.from_ == "Sender <from@example.com>"
    assert received.to == "to@example.com"
    assert received.subject == "Welcome aboard"
    assert received.message_id == "<Welcome-aboard@mailsage.test>"
    assert b"\r\n.\r\nA line with a lone dot above." in received.raw


async def test_tls_is_verified_against_the_configured_name_not_the_address(
    smtp_sink: SinkFactory, smtp_ca: trustme.CA, smtp_ca_file: str
) -> None:
    # given a certificate valid for "localhost" only (no IP address in it)
    sink = await smtp_sink(tls="starttls", cert=smtp_ca.issue_cert("localhost"))

    # when the endpoint names "localhost" (we connect to its resolved 127.0.0.1)
    result = await verify_endpoint(endpoint(sink, host="localhost"), options(smtp_ca_file))

    # then the certificate matched the name
    assert result.tls_version is not None


async def test_a_certificate_for_another_name_fails_at_tls(
    smtp_sink: SinkFactory, smtp_ca: trustme.CA, smtp_ca_file: str
) -> None:
    sink = await smtp_sink(tls="starttls", cert=smtp_ca.issue_cert("mail.example.test"))

    with pytest.raises(SmtpConnectionError) as caught:
        await verify_endpoint(endpoint(sink, host="localhost"), options(smtp_ca_file))

    assert caught.value.stage == "tls"


@pytest.mark.parametrize("tls", ["starttls", "implicit"])
async def test_an_untrusted_certificate_fails_at_tls_before_any_credentials(
    smtp_sink: SinkFactory, smtp_ca_file: str, tls: str
) -> None:
    # given a server whose certificate comes from a CA the client does not trust
    untrusted = trustme.CA().issue_cert("127.0.0.1")
    sink = await smtp_sink(tls=tls, cert=untrusted, auth=(USER, PASSWORD))

    # when verified
    with pytest.raises(SmtpConnectionError) as caught:
        await verify_endpoint(endpoint(sink), options(smtp_ca_file))

    # then it is a TLS failure, and the password was never sent
    assert caught.value.stage == "tls"
    assert "certificate verify failed" in str(caught.value)
    assert sink.auth_attempts == 0


async def test_starttls_required_but_not_offered_fails_without_sending_credentials(
    smtp_sink: SinkFactory, smtp_ca_file: str
) -> None:
    # given a server that does not offer STARTTLS, and a TLS configuration
    sink = await smtp_sink(tls="starttls", auth=(USER, PASSWORD), fault="no_starttls")

    # when verified
    with pytest.raises(SmtpConnectionError) as caught:
        await verify_endpoint(endpoint(sink), options(smtp_ca_file))

    # then there is no silent downgrade
    assert caught.value.stage == "tls"
    assert "STARTTLS" in str(caught.value)
    assert sink.auth_attempts == 0


async def test_a_wrong_password_is_an_auth_error_that_never_shows_the_password(
    smtp_sink: SinkFactory, smtp_ca_file: str
) -> None:
    # given a server and a wrong password
    sink = await smtp_sink(tls="starttls", auth=(USER, PASSWORD))
    wrong = "wrong-but-secret-Pa55"

    # when verified
    with pytest.raises(SmtpAuthError) as caught:
        await verify_endpoint(endpoint(sink, password=wrong), options(smtp_ca_file))

    # then it is a 535 at auth, and the password appears nowhere
    error = caught.value
    assert (error.stage, error.smtp_code, error.enhanced_code) == ("auth", 535, "5.7.8")
    for text in (str(error), repr(error), repr(error.args), error.message):
        assert wrong not in text
    assert error.__cause__ is None or wrong not in repr(error.__cause__)


async def test_credentials_without_auth_offered_are_an_auth_error(smtp_sink: SinkFactory) -> None:
    # given a plain server without AUTH, and a configuration with credentials
    sink = await smtp_sink()

    with pytest.raises(SmtpAuthError) as caught:
        await verify_endpoint(endpoint(sink, username=USER, password=PASSWORD), options())

    assert caught.value.stage == "auth"
    assert "does not offer AUTH" in str(caught.value)


async def test_a_refused_connection_is_a_connection_error(smtp_sink: SinkFactory) -> None:
    sink = await smtp_sink(fault="refuse")

    with pytest.raises(SmtpConnectionError) as caught:
        await verify_endpoint(endpoint(sink), options())

    assert caught.value.stage == "connect"
    assert not isinstance(caught.value, SmtpTimeoutError)


async def test_a_421_greeting_is_a_connection_error(smtp_sink: SinkFactory) -> None:
    sink = await smtp_sink(fault="greeting_421")

    with pytest.raises(SmtpConnectionError) as caught:
        await verify_endpoint(endpoint(sink), options())

    assert (caught.value.stage, caught.value.smtp_code) == ("connect", 421)


async def test_a_private_host_is_refused_before_connecting(smtp_sink: SinkFactory) -> None:
    # given the default host policy (no private hosts)
    sink = await smtp_sink()

    with pytest.raises(ValidationError) as caught:
        await verify_endpoint(endpoint(sink), options(allow_private_hosts=False))

    assert caught.value.field == "host"
    assert sink.connections_accepted == 0


@pytest.mark.parametrize(
    ("fault", "expected", "stage", "code", "enhanced"),
    [
        ("mail_451_rate", SmtpRateLimitError, "mail", 451, "4.7.1"),
        ("rcpt_451_rate", SmtpRateLimitError, "rcpt", 451, "4.7.1"),
        ("data_quota", SmtpRateLimitError, "data", 550, "5.4.5"),
        ("rcpt_550", SmtpRecipientRejectedError, "rcpt", 550, "5.1.1"),
        ("data_554", SmtpMessageRejectedError, "data", 554, "5.7.1"),
    ],
)
async def test_a_refusing_reply_is_classified(
    smtp_sink: SinkFactory,
    fault: str,
    expected: type[SmtpError],
    stage: str,
    code: int,
    enhanced: str,
) -> None:
    # given a server that refuses at some stage
    sink = await smtp_sink(fault=fault)

    # when a message is sent
    with pytest.raises(expected) as caught:
        await send_test_message(endpoint(sink), options(), message())

    # then the error carries the stage, the codes and the server's words
    error = caught.value
    assert type(error) is expected
    assert (error.stage, error.smtp_code, error.enhanced_code) == (stage, code, enhanced)
    assert str(code) in str(error)
    assert sink.messages == []


async def test_some_refused_recipients_do_not_fail_the_send(smtp_sink: SinkFactory) -> None:
    # given a server that knows one of two recipients
    sink = await smtp_sink(refuse_recipients=frozenset({"gone@example.com"}))

    # when a message goes to both
    result = await send_test_message(
        endpoint(sink), options(), message(recipients=("to@example.com", "gone@example.com"))
    )

    # then it is sent to the known one, and the refusal is reported
    assert result.smtp_code == 250
    assert list(result.refused) == ["gone@example.com"]
    assert result.refused["gone@example.com"][0] == 550
    [received] = await sink.wait_for_messages(1)
    assert received.rcpt_tos == ("to@example.com",)


async def test_a_disconnect_after_the_final_dot_is_uncertain(smtp_sink: SinkFactory) -> None:
    # given a server that takes the message and hangs up without a reply
    sink = await smtp_sink(fault="disconnect_after_dot")

    # when sent
    with pytest.raises(SmtpUncertainError) as caught:
        await send_test_message(endpoint(sink), options(), message())

    # then the outcome is uncertain, and indeed the server has the message
    assert caught.value.stage == "after_data"
    assert len(sink.messages) == 1


async def test_a_disconnect_before_the_message_is_a_retryable_connection_error(
    smtp_sink: SinkFactory,
) -> None:
    # given a server that hangs up on DATA, before the message is written
    sink = await smtp_sink(fault="disconnect_on_data")

    # when sent
    with pytest.raises(SmtpConnectionError) as caught:
        await send_test_message(endpoint(sink), options(), message())

    # then it is a plain connection error at DATA (safe to retry), not uncertain
    assert caught.value.stage == "data"
    assert sink.messages == []


async def test_a_disconnect_while_writing_the_message_is_a_retryable_connection_error(
    smtp_sink: SinkFactory,
) -> None:
    # given a server that says 354 and hangs up, and a message far larger than socket buffers
    sink = await smtp_sink(fault="disconnect_after_354")
    small = message()
    big = OutgoingMessage(
        small.sender, small.recipients, small.data + (b"y" * 998 + b"\r\n") * 24_000
    )

    # when sent
    with pytest.raises(SmtpConnectionError) as caught:
        await send_test_message(endpoint(sink), options(), big)

    # then the final dot was never written: a connection error at DATA, not uncertain
    assert caught.value.stage == "data"
    assert not isinstance(caught.value, SmtpUncertainError)


async def test_a_silent_server_times_out_at_connect(smtp_sink: SinkFactory) -> None:
    sink = await smtp_sink(fault="slow_greeting")

    with pytest.raises(SmtpTimeoutError) as caught:
        await verify_endpoint(endpoint(sink), options(connect_timeout=0.2))

    assert caught.value.stage == "connect"


async def test_no_reply_to_the_final_dot_within_the_command_timeout_is_uncertain(
    smtp_sink: SinkFactory,
) -> None:
    sink = await smtp_sink(fault="slow_data")

    with pytest.raises(SmtpUncertainError) as caught:
        await send_test_message(endpoint(sink), options(command_timeout=0.2), message())

    assert caught.value.stage == "after_data"
    assert "command timeout (0.2 s)" in str(caught.value)


async def test_the_message_timeout_bounds_the_whole_transaction(smtp_sink: SinkFactory) -> None:
    # given generous command timeouts but a short message timeout
    sink = await smtp_sink(fault="slow_data")

    with pytest.raises(SmtpUncertainError) as caught:
        await send_test_message(
            endpoint(sink), options(command_timeout=5.0, message_timeout=0.3), message()
        )

    assert "message timeout" in str(caught.value)


async def test_a_timeout_before_the_message_is_a_timeout_not_uncertain(
    smtp_sink: SinkFactory,
) -> None:
    # given a server that stalls its reply to MAIL FROM
    sink = await smtp_sink(fault="slow_mail")

    # when sent with a short command timeout
    with pytest.raises(SmtpTimeoutError) as caught:
        await send_test_message(endpoint(sink), options(command_timeout=0.2), message())

    # then it is a timeout at MAIL: nothing was sent, retrying is safe
    assert caught.value.stage == "mail"
    assert not isinstance(caught.value, SmtpUncertainError)
    assert "command timeout (0.2 s)" in str(caught.value)


async def test_the_command_timeout_applies_to_each_reply_not_to_their_sum(
    smtp_sink: SinkFactory,
) -> None:
    # given a server whose every reply takes 0.12 s (MAIL, two RCPTs, the final reply)
    sink = await smtp_sink(fault="slow_replies", slow_seconds=0.12)

    # when sent with a command timeout of 0.2 s (the replies take 0.48 s in all)
    result = await send_test_message(
        endpoint(sink),
        options(command_timeout=0.2, message_timeout=5.0),
        message(recipients=("a@example.com", "b@example.com")),
    )

    # then no reply was late, and the message went through
    assert result.smtp_code == 250
    [received] = await sink.wait_for_messages(1)
    assert received.rcpt_tos == ("a@example.com", "b@example.com")
