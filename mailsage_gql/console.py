"""The console: the built single-page app (ui/, built into console_dist/) served at `/`."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route, request_response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Built by `make ui` (npm ci + vite build); committed, so serving needs no Node.
DIST = Path(__file__).parent / "console_dist"

#: Security rule: the console runs only its own files. No inline script or style, nothing
#: from another origin (connect-src 'self' also covers the same-origin websocket), no
#: framing, and no forms posted anywhere: the API key must never leave through the page.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    # The page itself carries no key, but a link followed from it should carry no path either.
    "referrer-policy": "no-referrer",
}


class _ConsoleHeaders:
    """Adds the console's security headers and a cache policy to every response it wraps.

    Asset names carry a hash of their content, so they are cached for good; index.html
    is revalidated on each load so a new release is picked up at once."""

    def __init__(self, app: ASGIApp, *, cache_control: str) -> None:
        self.app = app
        self.cache_control = cache_control

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.decode().lower() not in _HEADERS and k.lower() != b"cache-control"
                ]
                headers += [(k.encode(), v.encode()) for k, v in _HEADERS.items()]
                headers.append((b"cache-control", self.cache_control.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _index(request: Request) -> Response:
    index = DIST / "index.html"
    if not index.is_file():
        return PlainTextResponse("The console is not built: run `make ui`.", status_code=503)
    return FileResponse(index, media_type="text/html; charset=utf-8")


def routes() -> list[BaseRoute]:
    """`/` (the app; it routes itself after `#`) and `/assets/*` (its hashed files)."""
    return [
        Route(
            "/",
            _ConsoleHeaders(request_response(_index), cache_control="no-cache"),
            methods=["GET", "HEAD"],
        ),
        Mount(
            "/assets",
            app=_ConsoleHeaders(
                StaticFiles(directory=DIST / "assets", check_dir=False),
                cache_control="public, max-age=31536000, immutable",
            ),
            name="console-assets",
        ),
    ]
