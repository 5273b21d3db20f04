"""The sink in another process, as multi-process worker tests use it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from mailsage_gql.smtp import SmtpEndpoint, SmtpPool, send_test_message
from tests.integration.smtp.test_connection import PASSWORD, USER, message, options
from tests.support.smtp_sink import SinkProcess

StartProcess = Callable[..., Awaitable[SinkProcess]]


async def test_a_sink_process_records_message_ids(smtp_sink_process: StartProcess) -> None:
    # given a sink running in a child process
    sink = await smtp_sink_process()
    pool = SmtpPool(SmtpEndpoint(sink.host, sink.port, False), options(), max_connections=2)

    # when messages are sent to it over TCP
    try:
        for i in range(3):
            await pool.send(message(f"proc {i}"))
    finally:
        await pool.close()

    # then it records their Message-IDs in its file
    records = await sink.wait_for_records(3)
    assert [r["message_id"] for r in records] == [f"<proc-{i}@mailsage.test>" for i in range(3)]
    assert records[0]["rcpt_tos"] == ["to@example.com"]


async def test_a_sink_process_speaks_starttls_and_auth(
    smtp_sink_process: StartProcess, smtp_ca_file: str
) -> None:
    # given a STARTTLS + AUTH sink in a child process, with a certificate from the test CA
    sink = await smtp_sink_process(tls="starttls", auth=(USER, PASSWORD))

    # when a test message is sent to it
    result = await send_test_message(
        SmtpEndpoint(sink.host, sink.port, True, USER, PASSWORD), options(smtp_ca_file), message()
    )

    # then it is accepted and recorded
    assert result.smtp_code == 250
    await sink.wait_for_records(1)
    assert sink.message_ids() == ["<Hello@mailsage.test>"]
