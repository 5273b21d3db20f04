"""The product guide's SMTP config routes, snake_case JSON, over the shared service layer."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mailsage_gql.errors import NotFoundError, ValidationError
from mailsage_gql.services import smtp_configs
from mailsage_gql.services.accounts import Principal, authenticate
from mailsage_gql.services.resources import Resources
from mailsage_gql.services.smtp_configs import SmtpConfigRecord


async def principal_of(request: Request) -> Principal:
    """:raises UnauthenticatedError: no valid bearer key. :raises RateLimitedError: too many
    requests for this key."""
    resources = resources_of(request)
    principal = await authenticate(request.headers.get("authorization"), cache=resources.auth_cache)
    resources.limiter.check(principal.key_id)
    return principal


async def json_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object.

    :raises ValidationError: not JSON, or not an object.
    """
    body = await request.body()
    try:
        data = json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError):
        raise ValidationError("request body is not valid JSON", field=None) from None
    if not isinstance(data, dict):
        raise ValidationError("request body must be a JSON object", field=None)
    return data


def resources_of(request: Request) -> Resources:
    resources: Resources = request.app.state.resources
    return resources


def render_config(record: SmtpConfigRecord) -> dict[str, Any]:
    return {
        "id": str(record.id),
        "name": record.name,
        "host": record.host,
        "port": record.port,
        "username": record.username,
        "use_tls": record.use_tls,
        "from_email": record.from_email,
        "is_default": record.is_default,
        "daily_limit": record.daily_limit,
        "max_per_minute": record.max_per_minute,
        "sent_today": record.sent_today,
        "remaining_today": record.remaining_today,
        "resets_at": record.resets_at.isoformat(),
        "has_password": record.has_password,
        "priority": record.priority,
        "max_connections": record.max_connections,
        "created_at": record.created_at.isoformat(),
        "updated_at": record.updated_at.isoformat(),
    }


async def create_config(request: Request) -> Response:
    principal = await principal_of(request)
    resources = resources_of(request)
    record = await smtp_configs.create_config(
        principal.account_id,
        await json_object(request),
        keyring=resources.keyring,
        allow_private_hosts=resources.settings.private_smtp_hosts_allowed,
    )
    return JSONResponse(render_config(record), status_code=201)


async def list_configs(request: Request) -> Response:
    principal = await principal_of(request)
    records = await smtp_configs.list_configs(
        principal.account_id, cache=resources_of(request).config_records
    )
    return JSONResponse({"data": [render_config(r) for r in records]})


async def get_config(request: Request) -> Response:
    principal = await principal_of(request)
    config_id = request.path_params["config_id"]
    record = await smtp_configs.get_config(
        principal.account_id, config_id, cache=resources_of(request).config_records
    )
    if record is None:
        raise NotFoundError(f"SMTP config {config_id} not found")
    return JSONResponse(render_config(record))


async def update_config(request: Request) -> Response:
    principal = await principal_of(request)
    record = await smtp_configs.update_config(
        principal.account_id,
        request.path_params["config_id"],
        await json_object(request),
        keyring=resources_of(request).keyring,
        allow_private_hosts=resources_of(request).settings.private_smtp_hosts_allowed,
    )
    return JSONResponse(render_config(record))


async def delete_config(request: Request) -> Response:
    principal = await principal_of(request)
    await smtp_configs.delete_config(principal.account_id, request.path_params["config_id"])
    return Response(status_code=204)


async def set_default(request: Request) -> Response:
    principal = await principal_of(request)
    record = await smtp_configs.set_default(principal.account_id, request.path_params["config_id"])
    return JSONResponse(render_config(record))


routes = [
    Route("/api/v1/smtp/configs", create_config, methods=["POST"]),
    Route("/api/v1/smtp/configs", list_configs, methods=["GET"]),
    Route("/api/v1/smtp/configs/{config_id}", get_config, methods=["GET"]),
    Route("/api/v1/smtp/configs/{config_id}", update_config, methods=["PATCH"]),
    Route("/api/v1/smtp/configs/{config_id}", delete_config, methods=["DELETE"]),
    Route("/api/v1/smtp/configs/{config_id}/default", set_default, methods=["POST"]),
]
