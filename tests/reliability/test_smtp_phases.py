"""Given the only provider failing in one SMTP phase (greeting, EHLO, STARTTLS, AUTH, MAIL,
RCPT, DATA, after the final dot, or replying slower than the timeouts), when a message goes
through the whole engine, then it ends in the state that phase calls for, with the right
lastError code, one recorded attempt, the right delivery events, and the provider received it
only when it may have accepted it.

The rules: a temporary or connection-phase failure fails over (here: no other provider, so
DEFERRED); 5xx at RCPT is FAILED smtp_recipient_rejected, 5xx at DATA FAILED
smtp_message_rejected; a lost or late reply to the final dot is UNCERTAIN (never resent).
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import pytest

from mailsage_gql.models import DeliveryEvent
from mailsage_gql.settings import Settings
from tests.integration.delivery.conftest import create_config, send, settled, sink_config
from tests.integration.delivery.conftest import engine as engine  # the in-process sender
from tests.support.api import GraphQL, Tenant
from tests.support.smtp_sink import SinkFactory

TIMEOUT = 0.5  # connect (greeting included) and per-command timeouts
STALL = 1.5  # how long a slow sink keeps quiet: beyond every timeout
CREDENTIALS = {"auth": ("mailer", "right")}
STARTTLS = {"tls": "starttls"}


class Phase(NamedTuple):
    sink: dict[str, Any]
    status: str
    code: str
    smtp_code: int | None
    enhanced: str | None
    received: int  # copies the provider recorded


DEFERRED, FAILED, UNCERTAIN = "DEFERRED", "FAILED", "UNCERTAIN"
CONNECTION, TEMPORARY, RATE = "smtp_connection_error", "smtp_temporary_error", "smtp_rate_limit"
PHASES = {
    # connecting and greeting
    "refused": Phase({"fault": "refuse"}, DEFERRED, CONNECTION, None, None, 0),
    "greeting-421": Phase({"fault": "greeting_421"}, DEFERRED, CONNECTION, 421, None, 0),
    "greeting-slow": Phase({"fault": "slow_greeting"}, DEFERRED, CONNECTION, None, None, 0),
    "ehlo-421": Phase({"fault": "ehlo_421"}, DEFERRED, CONNECTION, 421, None, 0),
    "ehlo-554": Phase({"fault": "ehlo_554"}, DEFERRED, CONNECTION, 554, "5.7.1", 0),
    "ehlo-slow": Phase({"fault": "slow_ehlo"}, DEFERRED, CONNECTION, None, None, 0),
    # STARTTLS
    "starttls-missing": Phase(
        {**STARTTLS, "fault": "no_starttls"}, DEFERRED, CONNECTION, None, None, 0
    ),
    "starttls-454": Phase(
        {**STARTTLS, "fault": "starttls_454"}, DEFERRED, CONNECTION, 454, "4.7.0", 0
    ),
    # AUTH
    "auth-535": Phase(
        {**CREDENTIALS, "fault": "auth_535"}, DEFERRED, "smtp_auth_error", 535, "5.7.8", 0
    ),
    "auth-454": Phase({**CREDENTIALS, "fault": "auth_454"}, DEFERRED, TEMPORARY, 454, "4.7.0", 0),
    # MAIL FROM
    "mail-451-rate": Phase({"fault": "mail_451_rate"}, DEFERRED, RATE, 451, "4.7.1", 0),
    "mail-451": Phase({"fault": "mail_451"}, DEFERRED, TEMPORARY, 451, "4.3.0", 0),
    "mail-421-closing": Phase({"fault": "mail_421"}, DEFERRED, TEMPORARY, 421, None, 0),
    "mail-slow": Phase({"fault": "slow_mail"}, DEFERRED, CONNECTION, None, None, 0),
    # RCPT TO
    "rcpt-451-rate": Phase({"fault": "rcpt_451_rate"}, DEFERRED, RATE, 451, "4.7.1", 0),
    "rcpt-421-closing": Phase({"fault": "rcpt_421"}, DEFERRED, TEMPORARY, 421, None, 0),
    "rcpt-550": Phase({"fault": "rcpt_550"}, FAILED, "smtp_recipient_rejected", 550, "5.1.1", 0),
    # DATA, before the final dot
    "data-354-slow": Phase({"fault": "slow_data_354"}, DEFERRED, CONNECTION, None, None, 0),
    "data-disconnect": Phase({"fault": "disconnect_on_data"}, DEFERRED, CONNECTION, None, None, 0),
    # the 354 came, then the server hung up: the close is seen before the final dot is written
    "data-354-disconnect": Phase(
        {"fault": "disconnect_after_354"}, DEFERRED, CONNECTION, None, None, 0
    ),
    # the reply to the final dot
    "data-554": Phase({"fault": "data_554"}, FAILED, "smtp_message_rejected", 554, "5.7.1", 0),
    "data-451": Phase({"fault": "data_451"}, DEFERRED, TEMPORARY, 451, "4.3.0", 0),
    "data-550-quota": Phase({"fault": "data_quota"}, DEFERRED, RATE, 550, "5.4.5", 0),
    # the message may have been handed over: never resent
    "after-dot-disconnect": Phase(
        {"fault": "disconnect_after_dot"}, UNCERTAIN, "smtp_uncertain", None, None, 1
    ),
    "after-dot-slow": Phase({"fault": "slow_data"}, UNCERTAIN, "smtp_uncertain", None, None, 1),
}
OUTCOME = {DEFERRED: "failover", FAILED: "failed", UNCERTAIN: "uncertain"}


@pytest.fixture
def settings(db: Settings, smtp_ca_file: str) -> Settings:
    return dataclasses.replace(
        db,
        smtp_ca_file=smtp_ca_file,
        smtp_connect_timeout=TIMEOUT,
        smtp_command_timeout=TIMEOUT,
        smtp_message_timeout=3.0,
        poll_interval=0.2,
        lease_seconds=10.0,
        retry_schedule=(60.0, 300.0),
    )


@pytest.mark.parametrize("phase", list(PHASES.values()), ids=list(PHASES))
async def test_a_failure_in_each_smtp_phase_ends_in_its_state_with_its_code(
    gql: GraphQL, tenant: Tenant, smtp_sink: SinkFactory, engine: Any, phase: Phase
) -> None:
    # given the account's only provider failing in this phase
    sink = await smtp_sink(slow_seconds=STALL, **phase.sink)
    config_id = await create_config(gql, tenant, sink_config(sink, "Only"))

    # when a message is sent
    message_id = await send(gql, tenant)
    message = await settled(gql, tenant, message_id)

    # then its state, last error and single attempt say what happened in that phase
    assert message["status"] == phase.status
    assert message["lastError"]["code"] == phase.code
    assert [
        (a["smtpConfigId"], a["outcome"], a["errorCode"], a["smtpCode"], a["enhancedCode"])
        for a in message["attempts"]
    ] == [(config_id, OUTCOME[phase.status], phase.code, phase.smtp_code, phase.enhanced)]
    # and its events tell the same story, in order
    events = (
        await DeliveryEvent.filter(message_id=message_id).order_by("id").values_list("type", "code")
    )
    assert events == [("QUEUED", None), ("SENDING", None), (phase.status, phase.code)]
    # and the provider holds a copy only when it may have accepted the message
    received = [m.message_id for m in sink.messages]
    assert received == [message["rfcMessageId"]] * phase.received
