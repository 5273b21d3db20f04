"""Browser tests: Playwright driving Debian's Chromium against the app behind a real uvicorn.

Chromium comes from the project's setup (`make test` installs it with apt-get); Playwright's
own browser downloads are not used. Without /usr/bin/chromium the tests skip, unless CI=true.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect
from starlette.applications import Starlette

from mailsage_gql.app import create_app
from mailsage_gql.services.engine import Engine
from mailsage_gql.services.resources import Resources
from mailsage_gql.settings import Settings
from tests.support.api import LiveServer

CHROMIUM = Path("/usr/bin/chromium")
#: The flags this machine needs: no sandbox as root, and no calls to outside services.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Auto-wait this long for what a test expects to see; the live path polls every 0.2 s.
EXPECT_TIMEOUT_MS = 10_000

expect.set_options(timeout=EXPECT_TIMEOUT_MS)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if CHROMIUM.exists() or os.environ.get("CI", "").lower() == "true":
        return
    skip = pytest.mark.skip(reason=f"{CHROMIUM} is missing: `make test` installs it (apt-get)")
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(skip)


@pytest.fixture
def settings(db: Settings, smtp_ca_file: str) -> Settings:
    return dataclasses.replace(
        db,
        smtp_ca_file=smtp_ca_file,
        smtp_connect_timeout=2.0,
        smtp_command_timeout=2.0,
        smtp_message_timeout=5.0,
        poll_interval=0.2,
        lease_seconds=10.0,
        retry_schedule=(60.0, 300.0),
    )


@pytest.fixture
def app(settings: Settings) -> Starlette:
    """The served app without its own sender: tests start one when they want delivery."""
    return create_app(settings, own_database=False, run_sender=False)


StartSender = Callable[[], Awaitable[Engine]]


@pytest.fixture
async def start_sender(app: Starlette, settings: Settings) -> AsyncIterator[StartSender]:
    """Starts the lease loops here, woken by the app's enqueues (like `mailsage serve`)."""
    engines: list[Engine] = []

    async def start() -> Engine:
        resources: Resources = app.state.resources
        engine = Engine(settings=settings, keyring=resources.keyring, wakeups=resources.wakeups)
        await engine.start()
        engines.append(engine)
        return engine

    yield start
    for engine in engines:
        await engine.stop()


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is required when CI=true: run `make test` to install it")
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@dataclasses.dataclass
class Console:
    """One browser tab on the console, with what the page reported while the test ran."""

    page: Page
    url: str
    problems: list[str]

    async def open(self, fragment: str = "") -> None:
        await self.page.goto(self.url + "/" + fragment)

    async def sign_in(self, api_key: str) -> None:
        await self.open()
        await self.page.get_by_label("API key").fill(api_key)
        await self.page.get_by_role("button", name="Open the console").click()
        await expect(self.page.get_by_role("heading", level=1)).to_have_text("Overview")

    async def go(self, name: str) -> None:
        """Follow a link of the console's navigation (no reload)."""
        await self.page.get_by_role("navigation").get_by_role("link", name=name).click()
        await expect(self.page.get_by_role("heading", level=1)).to_have_text(name)


async def new_console(
    browser: Browser, live_server: LiveServer, **context: Any
) -> tuple[BrowserContext, Console]:
    ctx = await browser.new_context(**context)
    page = await ctx.new_page()
    problems: list[str] = []
    # A CSP refusal or a script error is a failure of the page, whatever the test checks.
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    return ctx, Console(page=page, url=live_server.url, problems=problems)


@pytest.fixture
async def console(browser: Browser, live_server: LiveServer) -> AsyncIterator[Console]:
    ctx, tab = await new_console(browser, live_server, viewport={"width": 1280, "height": 900})
    yield tab
    await ctx.close()
    assert tab.problems == []
