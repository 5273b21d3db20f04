"""Given a known set of sends through two real providers, when statistics are asked for, then
every count matches: totals, per provider, per UTC day, and error codes."""

from __future__ import annotations

from datetime import timedelta

from mailsage_gql.delivery.clock import utc_day, utc_now
from mailsage_gql.services.engine import Engine
from tests.integration.delivery.conftest import create_config, send, sink_config, wait_for_status
from tests.support.api import GraphQL, Tenant
from tests.support.smtp_sink import SinkFactory

STATS = """
query($from: DateTime!, $to: DateTime!, $config: ID) {
  deliveryStats(from: $from, to: $to, smtpConfigId: $config) {
    sent failed deferred uncertain failovers deliveryRate
    errorsByCode { code count }
    perConfig {
      smtpConfigId name attempts sent failed failovers deliveryRate errors { code count }
    }
    perDay { day sent failed failovers deliveryRate }
  }
}
"""
FINAL = {"SENT", "FAILED", "UNCERTAIN"}


async def test_stats_over_a_known_set_of_sends_match_exactly(
    gql: GraphQL, tenant: Tenant, smtp_sink: SinkFactory, engine: Engine
) -> None:
    primary = await smtp_sink(
        fault="mail_451_rate", fault_times=2, refuse_recipients=frozenset({"nobody@example.org"})
    )
    backup = await smtp_sink()
    primary_id = await create_config(gql, tenant, sink_config(primary, "Primary", priority=1))
    backup_id = await create_config(gql, tenant, sink_config(backup, "Backup", priority=2))
    start = utc_now()
    # Two rate-limited on the primary and failed over, three through the primary, one refused.
    for to in ["a@example.org", "b@example.org", "c@example.org", "d@example.org"]:
        await wait_for_status(gql, tenant, await send(gql, tenant, to=[to]), FINAL)
    refused = await send(gql, tenant, to=["nobody@example.org"])
    assert (await wait_for_status(gql, tenant, refused, FINAL))["status"] == "FAILED"
    await wait_for_status(gql, tenant, await send(gql, tenant), FINAL)
    window = {"from": start.isoformat(), "to": (utc_now() + timedelta(seconds=1)).isoformat()}

    stats = (await gql(STATS, window, tenant=tenant))["data"]["deliveryStats"]
    only_primary = (await gql(STATS, {**window, "config": primary_id}, tenant=tenant))["data"][
        "deliveryStats"
    ]

    assert (stats["sent"], stats["failed"], stats["deferred"], stats["uncertain"]) == (5, 1, 0, 0)
    assert stats["failovers"] == 2
    assert stats["deliveryRate"] == 5 / 6
    assert stats["errorsByCode"] == [
        {"code": "smtp_rate_limit", "count": 2},
        {"code": "smtp_recipient_rejected", "count": 1},
    ]
    assert stats["perConfig"] == [
        {
            "smtpConfigId": backup_id,
            "name": "Backup",
            "attempts": 2,
            "sent": 2,
            "failed": 0,
            "failovers": 0,
            "deliveryRate": 1.0,
            "errors": [],
        },
        {
            "smtpConfigId": primary_id,
            "name": "Primary",
            "attempts": 6,
            "sent": 3,
            "failed": 1,
            "failovers": 2,
            "deliveryRate": 0.5,
            "errors": [
                {"code": "smtp_rate_limit", "count": 2},
                {"code": "smtp_recipient_rejected", "count": 1},
            ],
        },
    ]
    days = {d["day"] for d in stats["perDay"]}
    assert days <= {utc_day(start).isoformat(), utc_day(utc_now()).isoformat()}
    assert sum(d["sent"] for d in stats["perDay"]) == 5
    assert (only_primary["sent"], only_primary["failed"], only_primary["failovers"]) == (3, 1, 2)
    assert [c["smtpConfigId"] for c in only_primary["perConfig"]] == [primary_id]


async def test_a_reversed_range_is_refused_with_its_field(gql: GraphQL, tenant: Tenant) -> None:
    now = utc_now()
    body = await gql(
        STATS,
        {"from": now.isoformat(), "to": (now - timedelta(hours=1)).isoformat()},
        tenant=tenant,
    )

    assert body["errors"][0]["extensions"] == {"code": "smtp_validation_failed", "field": "from"}
