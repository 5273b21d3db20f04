"""Screenshots of every console page at 1280 and 360 px, for docs/console/.

Runs only when asked: `make screenshots` (MAILSAGE_SCREENSHOTS=docs/console). The data is
seeded through the API and delivered by a real sender to real aiosmtpd sinks.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from mailsage_gql.settings import Settings
from tests.browser.conftest import StartSender, new_console
from tests.browser.helpers import create_config, send, sink_config, wait_for_status
from tests.support.api import GraphQL, LiveServer, Tenant
from tests.support.smtp_sink import SinkFactory
from tests.support.webhook_receiver import WebhookReceiver

OUT = os.environ.get("MAILSAGE_SCREENSHOTS")
WIDTHS = {1280: 860, 360: 740}

pytestmark = pytest.mark.skipif(not OUT, reason="set MAILSAGE_SCREENSHOTS=DIR (make screenshots)")

CREATE_WEBHOOK = """
mutation($url: String!, $events: [DeliveryEventType!]!) {
  createWebhook(url: $url, events: $events) { webhook { id } }
}"""


async def test_screenshots_of_every_page(
    browser: Browser,
    live_server: LiveServer,
    settings: Settings,
    tenant: Tenant,
    gql: GraphQL,
    smtp_sink: SinkFactory,
    start_sender: StartSender,
    webhook_receiver: WebhookReceiver,
) -> None:
    if settings.dialect != "sqlite":
        pytest.skip("one set of screenshots is enough")
    assert OUT is not None
    out = Path(OUT)
    out.mkdir(parents=True, exist_ok=True)

    primary = await smtp_sink()
    refusing = await smtp_sink(fault="rcpt_550")
    primary_id = await create_config(
        gql,
        tenant,
        sink_config(
            primary,
            "Postmark",
            isDefault=True,
            dailyLimit=500,
            priority=10,
        ),
    )
    backup_id = await create_config(
        gql, tenant, sink_config(refusing, "Backup relay", dailyLimit=200, priority=50)
    )
    body = await gql(
        CREATE_WEBHOOK, {"url": webhook_receiver.url, "events": ["SENT", "FAILED"]}, tenant=tenant
    )
    webhook_id = body["data"]["createWebhook"]["webhook"]["id"]
    await start_sender()
    sent = [
        await send(gql, tenant, smtpConfigId=primary_id, subject=f"Order #{1040 + i} confirmed")
        for i in range(6)
    ]
    failed = await send(
        gql, tenant, smtpConfigId=backup_id, subject="Password reset", to=["nobody@example.org"]
    )
    for message_id in sent:
        await wait_for_status(gql, tenant, message_id, "SENT")
    await wait_for_status(gql, tenant, failed, "FAILED")
    await webhook_receiver.wait_for(7)

    pages = {
        "overview": "#/overview",
        "providers": "#/providers",
        "messages": "#/messages",
        "message": f"#/messages/{sent[0]}",
        "send": "#/messages/new",
        "webhooks": "#/webhooks",
        "webhook": f"#/webhooks/{webhook_id}",
    }
    for width, height in WIDTHS.items():
        ctx, console = await new_console(
            browser, live_server, viewport={"width": width, "height": height}
        )
        try:
            await console.open()
            await console.page.get_by_label("API key").fill("ms_")
            await console.page.screenshot(path=out / f"key-entry-{width}.png")
            await console.sign_in(tenant.api_key)
            for name, fragment in pages.items():
                await console.open(fragment)
                main = console.page.locator("main")
                await expect(main.locator("h1")).not_to_have_text("")
                await expect(main).not_to_contain_text(re.compile("Loading…"))
                if name == "overview":
                    await expect(main.locator("[data-total='sent']")).to_have_text("6 sent")
                if name == "message":
                    await expect(console.page.get_by_test_id("message-status")).to_have_text("SENT")
                if name == "webhook":
                    await expect(main.get_by_text("SUCCEEDED").first).to_be_visible()
                await console.page.screenshot(path=out / f"{name}-{width}.png", full_page=True)
        finally:
            await ctx.close()
