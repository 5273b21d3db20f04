"""Given a message older than the maximum age whose provider still fails, when it is tried
again, then it ends FAILED with its last error instead of being deferred once more."""

from __future__ import annotations

from datetime import timedelta

from mailsage_gql.delivery.clock import utc_now
from mailsage_gql.models import DeliveryEvent, Message
from mailsage_gql.services.engine import Engine
from tests.integration.delivery.conftest import create_config, send, sink_config, wait_for_status
from tests.support.api import GraphQL, Tenant
from tests.support.smtp_sink import SinkFactory


async def test_a_message_past_the_maximum_age_fails_with_its_last_error(
    gql: GraphQL, tenant: Tenant, smtp_sink: SinkFactory, engine: Engine
) -> None:
    down = await smtp_sink(fault="refuse")
    await create_config(gql, tenant, sink_config(down, "Down"))
    message_id = await send(gql, tenant)
    first = await wait_for_status(gql, tenant, message_id, {"DEFERRED", "FAILED"})
    assert first["status"] == "DEFERRED"

    # Three days pass: the message is due again and past MAILSAGE_MAX_MESSAGE_AGE.
    await Message.filter(id=message_id).update(
        created_at=utc_now() - timedelta(days=3, seconds=1), next_attempt_at=utc_now()
    )
    engine.wakeups.messages.set()

    final = await wait_for_status(gql, tenant, message_id, {"FAILED"})
    assert final["lastError"]["code"] == "smtp_connection_error"
    assert [a["errorCode"] for a in final["attempts"]] == ["smtp_connection_error"] * 2
    types = (
        await DeliveryEvent.filter(message_id=message_id)
        .order_by("id")
        .values_list("type", flat=True)
    )
    assert types[-1] == "FAILED"
