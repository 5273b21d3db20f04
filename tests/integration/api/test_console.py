"""The console is served at / from the package's built assets, under a strict CSP."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from mailsage_gql import console
from mailsage_gql.app import create_app
from tests.support.databases import base_settings


@pytest.fixture
async def web() -> AsyncIterator[httpx.AsyncClient]:
    """The app over ASGI without its lifespan: serving files needs no database."""
    app = create_app(base_settings("sqlite://:memory:"), own_database=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mailsage.test") as c:
        yield c


def asset_paths(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/assets/[^"]+)"', html)


async def test_root_serves_the_console_page(web: httpx.AsyncClient) -> None:
    response = await web.get("/")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<div id="app">' in response.text
    assert response.headers["cache-control"] == "no-cache"


async def test_the_page_loads_only_its_own_files(web: httpx.AsyncClient) -> None:
    html = (await web.get("/")).text

    assert "<script>" not in html  # no inline script (the CSP would refuse it)
    assert not re.search(r'(?:src|href)="(?:https?:)?//', html)
    assert {p.rsplit(".", 1)[1] for p in asset_paths(html)} == {"js", "css"}


async def test_assets_are_served_and_cached_for_good(web: httpx.AsyncClient) -> None:
    for path in asset_paths((await web.get("/")).text):
        response = await web.get(path)

        assert response.status_code == 200, path
        assert "immutable" in response.headers["cache-control"]
        assert response.headers["x-content-type-options"] == "nosniff"


async def test_the_page_carries_a_csp_without_inline_script(web: httpx.AsyncClient) -> None:
    csp = (await web.get("/")).headers["content-security-policy"]

    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["default-src"] == "'none'"
    assert directives["connect-src"] == "'self'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp


async def test_graphql_and_health_routes_are_unchanged(web: httpx.AsyncClient) -> None:
    assert (await web.get("/healthz")).json() == {"status": "ok"}
    assert "content-security-policy" not in (await web.get("/healthz")).headers
    body = (await web.post("/graphql", json={"query": "{ smtpConfigs { id } }"})).json()
    assert body["errors"][0]["extensions"]["code"] == "unauthenticated"


async def test_unknown_asset_is_a_404(web: httpx.AsyncClient) -> None:
    assert (await web.get("/assets/missing.js")).status_code == 404


def test_the_built_assets_ship_inside_the_package() -> None:
    assert (console.DIST / "index.html").is_file()
    assert any((console.DIST / "assets").glob("*.js"))
