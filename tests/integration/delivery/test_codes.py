"""Given real aiosmtpd providers misbehaving in each way the engine must classify, when a
message goes through the whole engine (API send -> sender -> message state), then its
status, attempts, lastError code and delivery events say what happened (SQLite and
PostgreSQL)."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from starlette.applications import Starlette

from mailsage_gql.delivery.clock import next_reset, utc_now
from mailsage_gql.models import DeliveryEvent, ProviderHealth
from mailsage_gql.services import smtp_configs
from mailsage_gql.services.engine import Engine
from mailsage_gql.settings import Settings
from tests.integration.delivery.conftest import create_config, settled, sink_config
from tests.integration.delivery.conftest import send as send_message
from tests.support.api import GraphQL, Tenant
from tests.support.smtp_sink import SinkFactory, SmtpSink

MESSAGE = """
query($id: ID!) {
  message(id: $id) {
    id status rfcMessageId nextAttemptAt smtpConfigId
    lastError { code message }
    attempts { number smtpConfigId outcome smtpCode enhancedCode errorCode }
  }
}
"""
TEST = """
mutation($id: ID!, $to: String!) { testSmtpConfig(id: $id, recipient: $to) { ok } }
"""
USAGE = "query($id: ID!) { smtpConfig(id: $id) { sentToday } }"


def attempts(message: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (a["smtpConfigId"], a["outcome"], a["errorCode"], a["smtpCode"], a["enhancedCode"])
        for a in message["attempts"]
    ]


async def event_story(message_id: str) -> list[tuple[str, str | None]]:
    """The message's delivery events in the order they were stored: (type, code)."""
    rows = await DeliveryEvent.filter(message_id=message_id).order_by("id").values("type", "code")
    return [(r["type"], r["code"]) for r in rows]


async def two_providers(
    gql: GraphQL, tenant: Tenant, smtp_sink: SinkFactory, **primary: Any
) -> tuple[SmtpSink, str, SmtpSink, str]:
    """A primary sink with `primary` options (faults, auth) and a healthy backup."""
    first = await smtp_sink(**primary)
    backup = await smtp_sink()
    first_id = await create_config(gql, tenant, sink_config(first, "Primary", priority=1))
    backup_id = await create_config(gql, tenant, sink_config(backup, "Backup", priority=2))
    return first, first_id, backup, backup_id


# -- one provider that fails: DEFERRED on the retry schedule ---------------------------------


@pytest.mark.parametrize(
    ("options", "code", "smtp_code", "enhanced"),
    [
        pytest.param({"fault": "refuse"}, "smtp_connection_error", None, None, id="refused"),
        pytest.param(
            {"auth": ("mailer", "right"), "fault": "auth_535"},
            "smtp_auth_error",
            535,
            "5.7.8",
            id="auth-535",
        ),
        pytest.param(
            {"fault": "greeting_421"}, "smtp_connection_error", 421, None, id="greeting-421"
        ),
        pytest.param(
            {"fault": "mail_451_rate"}, "smtp_rate_limit", 451, "4.7.1", id="mail-451-4.7.1"
        ),
    ],
)
async def test_provider_failure_is_recorded_with_its_code_and_defers_the_message(
    gql: GraphQL,
    tenant: Tenant,
    smtp_sink: SinkFactory,
    engine: Engine,
    options: dict[str, Any],
    code: str,
    smtp_code: int | None,
    enhanced: str | None,
) -> None:
    # given the account's only provider failing this way
    sink = await smtp_sink(**options)
    config_id = await create_config(gql, tenant, sink_config(sink, "Only"))

    # when a message is sent
    message = await settled(gql, tenant, await send_message(gql, tenant))

    # then it is DEFERRED with the provider's code on its attempt and as its last error
    assert message["status"] == "DEFERRED"
    assert attempts(message) == [(config_id, "failover", code, smtp_code, enhanced)]
    assert message["lastError"]["code"] == code
    assert sink.messages == []


async def test_deferred_message_waits_for_the_first_retry_step(
    gql: GraphQL, tenant: Tenant, smtp_sink: SinkFactory, engine: Engine, settings: Settings
) -> None:
    # given the only provider refusing connections (retry schedule starts at 60 s)
    sink = await smtp_sink(fault="refuse")
    await create_config(gql, tenant, sink_config(sink, "Only"))

    # when a message is sent
    before = utc_now()
    message = await settled(gql, tenant, await send_message(gql, tenant))
    after = utc_now()

    # then it is not due again before its first backoff step has passed
    first_step = timedelta(seconds=settings.retry_schedule[0])
    retry_at = message["nextAttemptAt"]
    assert message["status"] == "DEFERRED"
    assert before + first_step <= datetime.fromisoformat(retry_at) <= after + first_step


async def test_delivery_events_of_a_deferred_message_tell_the_story_in_order(
    gql: GraphQL, tenant: Tenant, smtp_sink: SinkFactory, engine: Engine
) -> None:
    # given the only provider refusing connections
    sink = await smtp_sink(fault="refuse")
    await create_config(gql, tenant, sink_config(sink, "Only"))

    # when a message is sent and deferred
    message_id = await send_message(gql, tenant)
    await settled(gql, tenant, message_id)

    # then its events are: queued, an attempt started, deferred with the provider's code
    assert await event_story(message_id) == [
        ("QUEUED", None),
        ("SENDING", None),
        ("DEFERRED", "smtp_connection_error"),
    ]


# -- failover and quota -----------------------------------------------------------------------


async def test_rate_limit_451_fails_over_to_the_next_provider(
    gql: GraphQL, tenant: Tenant, smtp_sink: SinkFactory, engine: Engine
) -> None:
    # given a primary answering MAIL FROM with 451 4.7.1, and a healthy backup
    _, first_id, backup, backup_id = await two_providers(
        gql, tenant, smtp_sink, fault="mail_451_rate"
    )

    # when a message is sent
    message_id = await send_message(gql, tenant)
    message = await settled(gql, tenant, message_id)

    # then it is SENT by the backup after a rate-limit attempt on the primary
    assert message["status"] == "SENT"
    assert attempts(message) == [
        (first_id, "failover", "smtp_rate_limit", 451, "4.7.1"),
        (backup_id, "sent", None, 250, "2.0.0"),
    ]
    assert [m.message_id for m in backup.messages] == [message["rfcMessageId"]]
    assert await event_story(message_id) == [
        ("QUEUED", None),
        ("SENDING", None),
        ("FAILOVER", None),
        ("SENDING", None),
        ("SENT", None),
    ]


async def test_quota_550_5_4_5_on_data_fails_over_and_exhausts_the_provider_until_midnight(
    gql: GraphQL, tenant: Tenant, smtp_sink: SinkFactory, engine: Engine
) -> None:
    # given a primary whose final reply is Gmail's daily quota 550 5.4.5, and a backup
    _, first_id, _, backup_id = await two_providers(gql, tenant, smtp_sink, fault="data_quota")

    # when a message is sent
    before = utc_now()
    message = await settled(gql, tenant, await send_message(gql, tenant))

    # then it is a rate limit that fails over, and the primary is exhausted until midnight
    assert message["status"] == "SENT"
    assert attempts(message) == [
        (first_id, "failover", "smtp_rate_limit", 550, "5.4.5"),
        (backup_id, "sent", None, 250, "2.0.0"),
    ]
    health = await ProviderHealth.get(config_id=first_id)
    assert health.exhausted_until in {next_reset(before), next_reset(utc_now())}


async def test_provider_exhausted_by_a_quota_reply_is_skipped_by_later_messages(
    gql: GraphQL, tenant: Tenant, smtp_sink: SinkFactory, engine: Engine
) -> None:
    # given a primary exhausted by a quota reply, which has since recovered
    first, _, _, backup_id = await two_providers(gql, tenant, smtp_sink, fault="data_quota")
    await settled(gql, tenant, await send_message(gql, tenant))
    first.fault = None

    # when another message is sent the same day
    message = await settled(gql, tenant, await send_message(gql, tenant))

    # then the primary is not even tried: the backup delivers it
    assert message["status"] == "SENT"
    assert attempts(message) == [(backup_id, "sent", None, 250, "2.0.0")]
    assert first.messages == []


# -- permanent rejections: FAILED, no failover ------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "code", "smtp_code", "enhanced"),
    [
        pytest.param("rcpt_550", "smtp_recipient_rejected", 550, "5.1.1", id="rcpt-550-5.1.1"),
        pytest.param("data_554", "smtp_message_rejected", 554, "5.7.1", id="data-554"),
    ],
)
async def test_permanent_rejection_fails_the_message_without_failover(
    gql: GraphQL,
    tenant: Tenant,
    smtp_sink: SinkFactory,
    engine: Engine,
    fault: str,
    code: str,
    smtp_code: int,
    enhanced: str,
) -> None:
    # given a primary that rejects this message permanently, and a healthy backup
    _, first_id, backup, _ = await two_providers(gql, tenant, smtp_sink, fault=fault)

    # when a message is sent
    message_id = await send_message(gql, tenant)
    message = await settled(gql, tenant, message_id)

    # then it is FAILED with the rejection's code, and the backup never hears of it
    assert message["status"] == "FAILED"
    assert message["lastError"]["code"] == code
    assert attempts(message) == [(first_id, "failed", code, smtp_code, enhanced)]
    assert backup.connections_accepted == 0
    assert await event_story(message_id) == [
        ("QUEUED", None),
        ("SENDING", None),
        ("FAILED", code),
    ]


# -- the reply to the final dot never comes: UNCERTAIN, never resent --------------------------


class TestUncertain:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return dataclasses.replace(settings, lease_seconds=0.9)

    async def test_disconnect_after_the_final_dot_is_uncertain_and_not_failed_over(
        self, gql: GraphQL, tenant: Tenant, smtp_sink: SinkFactory, engine: Engine
    ) -> None:
        # given a primary that takes the message, then hangs up instead of replying
        first, first_id, backup, _ = await two_providers(
            gql, tenant, smtp_sink, fault="disconnect_after_dot", fault_times=1
        )

        # when a message is sent
        message_id = await send_message(gql, tenant)
        message = await settled(gql, tenant, message_id)

        # then it is UNCERTAIN (it may have been delivered): the backup is not tried
        assert message["status"] == "UNCERTAIN"
        assert message["lastError"]["code"] == "smtp_uncertain"
        assert attempts(message) == [(first_id, "uncertain", "smtp_uncertain", None, None)]
        assert [m.message_id for m in first.messages] == [message["rfcMessageId"]]
        assert backup.connections_accepted == 0
        assert (await event_story(message_id))[-1] == ("UNCERTAIN", "smtp_uncertain")

    async def test_uncertain_message_is_never_resent_even_after_its_lease_time(
        self, gql: GraphQL, tenant: Tenant, smtp_sink: SinkFactory, engine: Engine
    ) -> None:
        # given a message left UNCERTAIN by a hang-up after the final dot
        first, _, backup, _ = await two_providers(
            gql, tenant, smtp_sink, fault="disconnect_after_dot", fault_times=1
        )
        message_id = await send_message(gql, tenant)
        await settled(gql, tenant, message_id)

        # when lease recovery runs two lease times later, and a claim looks for work then
        work = engine.message_loop.work
        later = utc_now() + 2 * engine.message_loop.lease
        recovered = await work.recover_expired_leases(now=later)
        claimed = await work.claim(
            owner="test", limit=10, now=later, lease=engine.message_loop.lease
        )

        # then neither touches it: it stays UNCERTAIN with its one attempt
        assert (recovered, claimed) == ((0, 0), [])
        message = (await gql(MESSAGE, {"id": message_id}, tenant=tenant))["data"]["message"]
        assert (message["status"], len(message["attempts"])) == ("UNCERTAIN", 1)

        # and the running sender, alive all along, never sent it again
        alive = await settled(gql, tenant, await send_message(gql, tenant, subject="later"))
        assert alive["status"] == "SENT"
        assert [m.subject for m in first.messages] == ["Hello", "later"]
        assert backup.messages == []


# -- private hosts refused when the setting is off --------------------------------------------


async def saved_before_the_policy(
    app: Starlette, tenant: Tenant, sink: SmtpSink, name: str, priority: int = 100
) -> str:
    """A config saved while private hosts were allowed (creation refuses them now), as an
    operator who tightened the policy later would have: the send-time guard must refuse it."""
    record = await smtp_configs.create_config(
        uuid.UUID(tenant.account_id),
        {
            "name": name,
            "host": sink.host,
            "port": sink.port,
            "use_tls": False,
            "from_email": "sender@example.com",
            "priority": priority,
        },
        keyring=app.state.resources.keyring,
        allow_private_hosts=True,
    )
    return str(record.id)


class TestPrivateHostsRefused:
    """The SSRF guard with allow_private_smtp_hosts off: creation refuses a private host
    (tests/security covers that); a config saved earlier is refused when it is used."""

    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return dataclasses.replace(settings, allow_private_smtp_hosts=False)

    async def test_delivery_through_a_private_host_is_refused_as_validation_failed(
        self,
        app: Starlette,
        gql: GraphQL,
        tenant: Tenant,
        smtp_sink: SinkFactory,
        engine: Engine,
    ) -> None:
        # given the only config pointing at a listening server on 127.0.0.1
        sink = await smtp_sink()
        config_id = await saved_before_the_policy(app, tenant, sink, "Loopback")

        # when a message is sent
        message = await settled(gql, tenant, await send_message(gql, tenant))

        # then no connection is made and the attempt says why, with smtp_validation_failed
        assert message["status"] == "DEFERRED"
        assert message["lastError"]["code"] == "smtp_validation_failed"
        assert "private or reserved" in message["lastError"]["message"]
        assert attempts(message) == [(config_id, "failover", "smtp_validation_failed", None, None)]
        assert sink.connections_accepted == 0

    async def test_private_host_fails_over_to_the_next_config(
        self,
        app: Starlette,
        gql: GraphQL,
        tenant: Tenant,
        smtp_sink: SinkFactory,
        engine: Engine,
    ) -> None:
        # given a private primary and a second config (also private: both are refused)
        first, backup = await smtp_sink(), await smtp_sink()
        first_id = await saved_before_the_policy(app, tenant, first, "Primary", priority=1)
        backup_id = await saved_before_the_policy(app, tenant, backup, "Backup", priority=2)

        # when a message is sent
        message = await settled(gql, tenant, await send_message(gql, tenant))

        # then each config was tried once and refused by the host policy, none connected
        assert [(a[0], a[2]) for a in attempts(message)] == [
            (first_id, "smtp_validation_failed"),
            (backup_id, "smtp_validation_failed"),
        ]
        assert first.connections_accepted == backup.connections_accepted == 0

    async def test_test_smtp_config_on_a_private_host_is_refused_as_validation_failed(
        self, app: Starlette, gql: GraphQL, tenant: Tenant, smtp_sink: SinkFactory
    ) -> None:
        # given a config pointing at 127.0.0.1
        sink = await smtp_sink()
        config_id = await saved_before_the_policy(app, tenant, sink, "Loopback")

        # when it is tested
        body = await gql(TEST, {"id": config_id, "to": "a@example.org"}, tenant=tenant)

        # then the host policy refuses it, nothing connects and the test send is not counted
        error = body["errors"][0]
        assert error["extensions"]["code"] == "smtp_validation_failed"
        assert error["extensions"]["field"] == "host"
        assert sink.connections_accepted == 0
        usage = await gql(USAGE, {"id": config_id}, tenant=tenant)
        assert usage["data"]["smtpConfig"]["sentToday"] == 0
