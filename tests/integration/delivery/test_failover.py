"""Given two real providers, when the primary fails, then mail fails over to the secondary and
the primary's shared circuit breaker opens, then closes again after a successful probe."""

from __future__ import annotations

from datetime import timedelta

from mailsage_gql.models import DeliveryEvent, ProviderHealth
from mailsage_gql.services.engine import Engine
from tests.integration.delivery.conftest import create_config, send, sink_config, wait_for_status
from tests.support.api import GraphQL, Tenant
from tests.support.clock import ManualClock
from tests.support.smtp_sink import SinkFactory


async def test_refused_primary_fails_over_to_secondary_and_attempts_show_both(
    gql: GraphQL, tenant: Tenant, smtp_sink: SinkFactory, engine: Engine
) -> None:
    primary = await smtp_sink(fault="refuse")
    secondary = await smtp_sink()
    primary_id = await create_config(gql, tenant, sink_config(primary, "Primary", priority=1))
    secondary_id = await create_config(gql, tenant, sink_config(secondary, "Backup", priority=2))

    message_id = await send(gql, tenant)

    message = await wait_for_status(gql, tenant, message_id, {"SENT", "FAILED", "DEFERRED"})
    assert message["status"] == "SENT"
    assert [(a["smtpConfigId"], a["outcome"], a["errorCode"]) for a in message["attempts"]] == [
        (primary_id, "failover", "smtp_connection_error"),
        (secondary_id, "sent", None),
    ]
    assert len(await secondary.wait_for_messages(1)) == 1
    types = (
        await DeliveryEvent.filter(message_id=message_id)
        .order_by("id")
        .values_list("type", flat=True)
    )
    assert types == ["QUEUED", "SENDING", "FAILOVER", "SENDING", "SENT"]


async def test_auth_failure_opens_circuit_then_a_probe_after_cooldown_closes_it(
    gql: GraphQL, tenant: Tenant, smtp_sink: SinkFactory, engine: Engine, clock: ManualClock
) -> None:
    primary = await smtp_sink(auth=("mailer", "right"), fault="auth_535")
    secondary = await smtp_sink()
    config = sink_config(primary, "Primary", priority=1)
    primary_id = await create_config(gql, tenant, config)
    secondary_id = await create_config(gql, tenant, sink_config(secondary, "Backup", priority=2))

    first = await wait_for_status(gql, tenant, await send(gql, tenant), {"SENT", "FAILED"})
    assert [a["errorCode"] for a in first["attempts"]] == ["smtp_auth_error", None]
    health = await ProviderHealth.get(config_id=primary_id)
    assert health.opened_until is not None

    # While open (the cooldown is a minute of the engine's clock): the primary is skipped,
    # no connection is even tried.
    auth_attempts = primary.auth_attempts
    second = await wait_for_status(gql, tenant, await send(gql, tenant), {"SENT", "FAILED"})
    assert [a["smtpConfigId"] for a in second["attempts"]] == [secondary_id]
    assert primary.auth_attempts == auth_attempts

    # After the cooldown, with the provider fixed, one probe goes through and closes it.
    primary.fault = None
    clock.advance(health.opened_until - clock.now() + timedelta(seconds=1))
    third = await wait_for_status(gql, tenant, await send(gql, tenant), {"SENT", "FAILED"})
    assert [(a["smtpConfigId"], a["outcome"]) for a in third["attempts"]] == [(primary_id, "sent")]
    health = await ProviderHealth.get(config_id=primary_id)
    assert (health.consecutive_failures, health.opened_until) == (0, None)
