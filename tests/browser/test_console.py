"""The console in a real browser: sign-in, providers, sending live, the overview, isolation."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, expect

from tests.browser.conftest import Console, StartSender, new_console
from tests.browser.helpers import create_config, send, sink_config, wait_for_status
from tests.support.api import GraphQL, LiveServer, Tenant
from tests.support.smtp_sink import SinkFactory


async def test_a_pasted_key_opens_the_console_and_stays_out_of_the_url(
    console: Console, tenant: Tenant
) -> None:
    await console.sign_in(tenant.api_key)

    stored = await console.page.evaluate("sessionStorage.getItem('mailsage.apiKey')")
    assert stored == tenant.api_key
    assert tenant.api_key not in console.page.url
    await console.page.reload()
    await expect(console.page.get_by_role("heading", level=1)).to_have_text("Overview")


async def test_a_wrong_key_shows_a_clear_message_and_is_not_kept(
    console: Console, tenant: Tenant
) -> None:
    await console.open()
    await console.page.get_by_label("API key").fill(tenant.api_key[:-4] + "xxxx")
    await console.page.get_by_role("button", name="Open the console").click()

    await expect(console.page.get_by_role("alert")).to_have_text(
        re.compile("This API key was not accepted")
    )
    assert await console.page.evaluate("sessionStorage.getItem('mailsage.apiKey')") is None


async def test_forgetting_the_key_returns_to_the_key_screen(
    console: Console, tenant: Tenant
) -> None:
    await console.sign_in(tenant.api_key)

    await console.page.get_by_role("button", name="Forget key").click()

    await expect(console.page.get_by_label("API key")).to_be_visible()
    assert await console.page.evaluate("sessionStorage.getItem('mailsage.apiKey')") is None


async def test_adding_a_provider_and_testing_a_closed_port_shows_the_coded_error(
    console: Console, tenant: Tenant, smtp_sink: SinkFactory
) -> None:
    closed = await smtp_sink(fault="refuse")
    await console.sign_in(tenant.api_key)
    await console.go("Providers")
    page = console.page

    await page.get_by_role("button", name="Add a provider").click()
    form = page.get_by_role("form", name="New provider")
    await form.get_by_label("Name", exact=True).fill("Closed")
    await form.get_by_label("Host", exact=True).fill(closed.host)
    await form.get_by_label("Port", exact=True).fill(str(closed.port))
    await form.get_by_label("From address").fill("sender@example.com")
    await form.get_by_label("Password", exact=True).fill("s3cret-pw")
    await form.get_by_label("Use TLS").uncheck()
    await form.get_by_role("button", name="Add provider").click()
    card = page.get_by_role("listitem", name="Provider Closed")
    await expect(card).to_contain_text(f"{closed.host}:{closed.port}")
    await expect(card).to_contain_text("password stored")
    await card.get_by_label("Send a test message to").fill("me@example.org")
    await card.get_by_role("button", name="Test Closed").click()

    alert = card.get_by_role("alert")
    await expect(alert).to_contain_text("smtp_connection_error")
    await expect(alert).to_contain_text("stage connect")
    assert "s3cret-pw" not in await page.content()


async def test_testing_a_working_provider_shows_the_servers_reply(
    console: Console, tenant: Tenant, gql: GraphQL, smtp_sink: SinkFactory
) -> None:
    sink = await smtp_sink()
    await create_config(gql, tenant, sink_config(sink, "Working"))
    await console.sign_in(tenant.api_key)
    await console.go("Providers")

    card = console.page.get_by_role("listitem", name="Provider Working")
    await card.get_by_label("Send a test message to").fill("me@example.org")
    await card.get_by_role("button", name="Test Working").click()

    await expect(card.locator(".test-result")).to_contain_text(re.compile(r"ok in \d+ ms: .*OK"))
    await sink.wait_for_messages(1)


async def test_editing_a_provider_keeps_the_password_unless_a_new_one_is_typed(
    console: Console, tenant: Tenant, gql: GraphQL, smtp_sink: SinkFactory
) -> None:
    sink = await smtp_sink()
    await create_config(
        gql, tenant, sink_config(sink, "Primary", username="mailer", password="pw-123456")
    )
    await console.sign_in(tenant.api_key)
    await console.go("Providers")
    page = console.page

    await page.get_by_role("button", name="Edit Primary").click()
    form = page.get_by_role("form", name="Edit Primary")
    await expect(form.get_by_label("New password (empty keeps the stored one)")).to_have_value("")
    await form.get_by_label("Daily limit").fill("250")
    await form.get_by_label("Priority (lower is tried first)").fill("5")
    await form.get_by_role("button", name="Save changes").click()

    card = page.get_by_role("listitem", name="Provider Primary")
    await expect(card).to_contain_text("0 of 250")
    await expect(card).to_contain_text("5 (lower is tried first)")
    await expect(card).to_contain_text("mailer, password stored")


async def test_a_message_sent_from_the_form_goes_from_queued_to_sent_live(
    console: Console,
    tenant: Tenant,
    gql: GraphQL,
    smtp_sink: SinkFactory,
    start_sender: StartSender,
) -> None:
    sink = await smtp_sink()
    await create_config(gql, tenant, sink_config(sink, "Main", isDefault=True))
    await console.sign_in(tenant.api_key)
    page = console.page
    await console.go("Messages")
    await page.get_by_role("link", name="Send a message").click()

    await page.get_by_label("To (comma-separated)").fill("friend@example.org")
    await page.get_by_label("Subject").fill("Hello from the console")
    await page.get_by_label("Text body").fill("It works.")
    await page.get_by_role("button", name="Send").click()
    status = page.get_by_test_id("message-status")
    await expect(status).to_have_text("QUEUED")
    # No reload from here on: the marker would be gone after one.
    await page.evaluate("window.__sameDocument = true")
    await start_sender()

    await expect(status).to_have_text("SENT")
    assert await page.evaluate("window.__sameDocument") is True
    await expect(page.get_by_role("region", name="Attempts")).to_contain_text("#1 sent via Main")
    received = await sink.wait_for_messages(1)
    assert received[0].subject == "Hello from the console"


async def test_the_messages_list_updates_live_and_filters_by_status(
    console: Console,
    tenant: Tenant,
    gql: GraphQL,
    smtp_sink: SinkFactory,
    start_sender: StartSender,
) -> None:
    sink = await smtp_sink()
    await create_config(gql, tenant, sink_config(sink, "Main", isDefault=True))
    await send(gql, tenant, subject="First")
    await console.sign_in(tenant.api_key)
    await console.go("Messages")
    page = console.page
    row = page.get_by_role("row", name=re.compile("First"))
    await expect(row).to_contain_text("QUEUED")

    await start_sender()

    await expect(row).to_contain_text("SENT")
    await page.get_by_label("Status").select_option("FAILED")
    await expect(page.get_by_text("No messages with status FAILED.")).to_be_visible()


async def test_the_overview_shows_todays_counts_per_provider_and_per_day(
    console: Console,
    tenant: Tenant,
    gql: GraphQL,
    smtp_sink: SinkFactory,
    start_sender: StartSender,
) -> None:
    good = await smtp_sink()
    refusing = await smtp_sink(fault="rcpt_550")
    good_id = await create_config(gql, tenant, sink_config(good, "Good", isDefault=True))
    bad_id = await create_config(gql, tenant, sink_config(refusing, "Refusing"))
    await start_sender()
    sent = [await send(gql, tenant, smtpConfigId=good_id) for _ in range(2)]
    failed = await send(gql, tenant, smtpConfigId=bad_id)
    for message_id in sent:
        await wait_for_status(gql, tenant, message_id, "SENT")
    await wait_for_status(gql, tenant, failed, "FAILED")

    await console.sign_in(tenant.api_key)

    page = console.page
    await expect(page.locator("[data-config='Good'] .sent-today")).to_have_text("2")
    await expect(page.locator("[data-config='Good']")).to_contain_text("Resets at")
    await expect(page.locator("[data-total='sent']")).to_have_text("2 sent")
    await expect(page.locator("[data-total='failed']")).to_have_text("1 failed")
    today = await page.evaluate("new Date().toISOString().slice(0, 10)")
    row = page.locator(f"tr[data-day='{today}']")
    await expect(row.locator("[data-series='sent']")).to_have_text("2")
    await expect(row.locator("[data-series='failed']")).to_have_text("1")
    await expect(row.locator("[data-series='deferred']")).to_have_text("0")
    await expect(page.locator(".day-table tbody tr")).to_have_count(14)
    await expect(page.get_by_role("img", name=re.compile("Bar chart"))).to_be_visible()


@pytest.mark.skip(
    reason="races: the ticker's subscription may start after the send, so the test can miss "
    "the event it waits for; to be rewritten to wait for the subscription (open, issue 18)"
)
async def test_the_live_ticker_shows_new_events(
    console: Console, tenant: Tenant, gql: GraphQL, smtp_sink: SinkFactory
) -> None:
    sink = await smtp_sink()
    await create_config(gql, tenant, sink_config(sink, "Main", isDefault=True))
    await console.sign_in(tenant.api_key)
    ticker = console.page.get_by_role("list", name="Latest delivery events, newest first")
    await expect(console.page.get_by_text("Waiting for delivery events…")).to_be_visible()

    message_id = await send(gql, tenant)

    await expect(ticker.get_by_role("listitem")).to_have_count(1)
    await expect(ticker).to_contain_text(f"QUEUED message {message_id[:8]}")


async def test_another_accounts_data_never_appears(
    console: Console,
    tenant: Tenant,
    other_tenant: Tenant,
    gql: GraphQL,
    smtp_sink: SinkFactory,
) -> None:
    sink = await smtp_sink()
    await create_config(gql, tenant, sink_config(sink, "Ours", isDefault=True))
    await create_config(gql, other_tenant, sink_config(sink, "Theirs", isDefault=True))
    await send(gql, other_tenant, subject="Their secret subject")
    await console.sign_in(tenant.api_key)
    page = console.page
    ticker = page.get_by_role("list", name="Latest delivery events, newest first")
    await expect(page.locator("[data-config='Ours']")).to_be_visible()

    # Their event first, ours second: once ours is shown, theirs would have been too.
    theirs = await send(gql, other_tenant, subject="Their second")
    ours = await send(gql, tenant, subject="Our own")

    await expect(ticker).to_contain_text(ours[:8])
    await expect(ticker.get_by_role("listitem")).to_have_count(1)
    assert theirs[:8] not in await ticker.inner_text()
    await expect(page.locator("[data-config='Theirs']")).to_have_count(0)
    await console.go("Messages")
    await expect(page.get_by_role("link", name="Our own")).to_be_visible()
    await expect(page.get_by_text("Their")).to_have_count(0)
    await console.go("Providers")
    await expect(page.get_by_role("listitem", name="Provider Ours")).to_be_visible()
    await expect(page.get_by_text("Theirs")).to_have_count(0)


async def test_webhooks_can_be_added_and_their_secret_rotated(
    console: Console, tenant: Tenant
) -> None:
    await console.sign_in(tenant.api_key)
    await console.go("Webhooks")
    page = console.page

    await page.get_by_label("URL").fill("https://hooks.example.com/mail")
    await page.get_by_role("button", name="Add webhook").click()
    secret = page.get_by_label("Secret")
    await expect(secret).to_have_value(re.compile(r"^whsec_"))
    first = await secret.input_value()
    card = page.get_by_role("listitem", name="Webhook https://hooks.example.com/mail")
    await expect(card).to_contain_text("SENT, FAILED")
    await card.get_by_role("button", name="Rotate secret").click()

    await expect(secret).not_to_have_value(first)
    await expect(secret).to_have_value(re.compile(r"^whsec_"))
    await card.get_by_role("link", name="Deliveries").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Webhook deliveries")
    await expect(page.get_by_text("No deliveries yet.")).to_be_visible()


async def test_the_console_is_usable_with_the_keyboard_alone(
    console: Console, tenant: Tenant
) -> None:
    page = console.page
    await console.open()
    await page.keyboard.press("Tab")
    await expect(page.get_by_label("API key")).to_be_focused()
    await page.keyboard.type(tenant.api_key)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Overview")

    link = page.get_by_role("navigation").get_by_role("link", name="Providers")
    for _ in range(10):
        if await link.evaluate("el => el === document.activeElement"):
            break
        await page.keyboard.press("Tab")
    await expect(link).to_be_focused()
    await page.keyboard.press("Enter")

    await expect(page.get_by_role("heading", level=1)).to_have_text("Providers")
    await expect(page.get_by_role("heading", level=1)).to_be_focused()


PAGES = ["#/overview", "#/providers", "#/messages", "#/messages/new", "#/webhooks"]

UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea, button')]
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                && !(el.textContent || '').trim())
  .map(el => el.outerHTML)"""


async def test_every_control_has_a_label_and_fits_a_360_px_screen(
    browser: Browser, live_server: LiveServer, tenant: Tenant, gql: GraphQL, smtp_sink: SinkFactory
) -> None:
    sink = await smtp_sink()
    await create_config(gql, tenant, sink_config(sink, "Main", isDefault=True))
    await send(gql, tenant)
    ctx, console = await new_console(browser, live_server, viewport={"width": 360, "height": 740})
    try:
        await console.sign_in(tenant.api_key)
        for fragment in PAGES:
            await console.open(fragment)
            await expect(console.page.locator("main h1")).not_to_have_text("")
            if fragment == "#/providers":
                await console.page.get_by_role("button", name="Add a provider").click()

            assert await console.page.evaluate(UNLABELLED) == [], fragment
            width = await console.page.evaluate("document.documentElement.scrollWidth")
            assert width <= 360, f"{fragment} is {width} px wide"
    finally:
        await ctx.close()
    assert console.problems == []
