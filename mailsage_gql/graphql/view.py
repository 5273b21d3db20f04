"""The Strawberry ASGI view: bearer-key auth on HTTP and on graphql-transport-ws connect."""

from __future__ import annotations

import json

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLRequestData
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UnsetType

from mailsage_gql.errors import RateLimitedError, UnauthenticatedError
from mailsage_gql.graphql.context import Context
from mailsage_gql.graphql.schema import build_schema
from mailsage_gql.services.accounts import authenticate
from mailsage_gql.services.resources import Resources


class MailsageGraphQL(GraphQL[Context, None]):
    def __init__(self, resources: Resources) -> None:
        settings = resources.settings
        super().__init__(
            build_schema(settings),
            graphql_ide="graphiql" if settings.graphiql_enabled else None,
            allow_queries_via_get=False,
            keep_alive=True,
            keep_alive_interval=15,
            # Only graphql-transport-ws: the legacy protocol had an auth bypass
            # (GHSA-vpwc-v33q-mq89).
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            allowed_origins=settings.cors_origins,
        )
        self.resources = resources

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        try:
            response = await self.run(Request(scope, receive=receive))
        except HTTPException as exc:
            # Strawberry answers these in plain text; our clients get a coded JSON error.
            response = JSONResponse(
                {"errors": [{"message": exc.reason, "extensions": {"code": "bad_request"}}]},
                status_code=exc.status_code,
            )
        await response(scope, receive, send)

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        """Strawberry's, with a 400 for JSON that is not an object or a list (Strawberry reads
        any JSON body as an object: a 500)."""
        if request.method == "POST" and "application/json" in (request.content_type or ""):
            data = self.parse_json(await request.get_body())  # Starlette keeps the body
            if not isinstance(data, (dict, list)):
                raise HTTPException(400, "The GraphQL request body must be a JSON object.")
        return await super().parse_http_body(request)

    def decode_json(self, data: str | bytes) -> object:
        """orjson: strict RFC 8259 JSON in UTF-8. What it refuses beyond `json.loads` (NaN and
        Infinity literals, lone surrogates, other encodings than UTF-8) is answered 400
        `bad_request` like any other malformed body: its error is a `json.JSONDecodeError`."""
        return orjson.loads(data)

    def encode_json(self, data: object) -> str:
        """orjson: the same compact JSON as `json.dumps` (non-ASCII as UTF-8, not \\u escapes).
        Text, not bytes: websocket frames and streamed parts are built from it too. Anything
        orjson refuses goes to `json.dumps`."""
        try:
            return orjson.dumps(data).decode()
        except TypeError:
            return json.dumps(data, separators=(",", ":"))

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        context = Context(resources=self.resources, request=request, response=response)
        if isinstance(request, Request):
            try:
                principal = await authenticate(
                    request.headers.get("authorization"), cache=self.resources.auth_cache
                )
                self.resources.limiter.check(principal.key_id)
                context._principal = principal
            except UnauthenticatedError as exc:
                context.auth_error = exc
            except RateLimitedError as exc:
                context.auth_error = exc
                if isinstance(response, Response):
                    response.status_code = 429
                    response.headers["Retry-After"] = str(max(1, round(exc.retry_after)))
        return context

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Authenticate from the connection_init payload; a bad key closes with 4403."""
        payload = context.connection_params
        if not isinstance(payload, dict):
            raise ConnectionRejectionError({"code": "unauthenticated"})
        header = payload.get("Authorization") or payload.get("authorization")
        try:
            context._principal = await authenticate(
                header if isinstance(header, str) else None, cache=self.resources.auth_cache
            )
        except UnauthenticatedError as exc:
            raise ConnectionRejectionError({"code": exc.code, "message": exc.message}) from None
        return None
