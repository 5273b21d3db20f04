"""REST routes for sending and reading messages, and for testing a saved config."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mailsage_gql.errors import NotFoundError, ValidationError
from mailsage_gql.rest.errors import ErrorResponse, error_body
from mailsage_gql.rest.smtp_configs import json_object, principal_of, resources_of
from mailsage_gql.services import config_checks, sending
from mailsage_gql.services.sending import MessageRecord


def render_message(r: MessageRecord) -> dict[str, Any]:
    config_id = r.delivered_config_id or r.requested_config_id
    return {
        "id": str(r.id),
        "status": r.status.value,
        "from": r.from_email,
        "to": r.to,
        "cc": r.cc,
        "bcc": r.bcc,
        "subject": r.subject,
        "rfc_message_id": r.rfc_message_id,
        "smtp_config_id": str(config_id) if config_id else None,
        "attempts": [
            {
                "number": a.number,
                "smtp_config_id": str(a.smtp_config_id) if a.smtp_config_id else None,
                "started_at": a.started_at.isoformat(),
                "ended_at": a.ended_at.isoformat(),
                "outcome": a.outcome,
                "smtp_code": a.smtp_code,
                "enhanced_code": a.enhanced_code,
                "reply": a.reply,
                "error_code": a.error_code,
                "duration_ms": a.duration_ms,
            }
            for a in r.attempts
        ],
        "last_error": {"code": r.last_error[0], "message": r.last_error[1]}
        if r.last_error
        else None,
        "idempotency_key": r.idempotency_key,
        "created_at": r.created_at.isoformat(),
        "sent_at": r.sent_at.isoformat() if r.sent_at else None,
        "next_attempt_at": r.next_attempt_at.isoformat() if r.next_attempt_at else None,
    }


async def send_email(request: Request) -> Response:
    principal = await principal_of(request)
    resources = resources_of(request)
    record = await sending.send_email(
        principal.account_id,
        await json_object(request),
        settings=resources.settings,
        notify=resources.wakeups.messages_queued,
    )
    return JSONResponse(render_message(record), status_code=202)


async def send_batch(request: Request) -> Response:
    principal = await principal_of(request)
    resources = resources_of(request)
    body = await json_object(request)
    if set(body) != {"messages"}:
        raise ValidationError('the body is {"messages": [...]}', field="messages")
    results = await sending.send_batch(
        principal.account_id,
        body["messages"],
        settings=resources.settings,
        notify=resources.wakeups.messages_queued,
    )
    items = [
        {
            "index": i,
            "message": render_message(r.record) if r.record else None,
            "error": error_body(r.error)["error"] if r.error else None,
        }
        for i, r in enumerate(results)
    ]
    queued = sum(1 for r in results if r.record is not None)
    # ErrorResponse: an item's error message may echo a lone surrogate of its input.
    return ErrorResponse(
        {"queued": queued, "failed": len(results) - queued, "items": items},
        status_code=202,
    )


async def get_email(request: Request) -> Response:
    principal = await principal_of(request)
    message_id = request.path_params["message_id"]
    row = await sending.get_message(principal.account_id, message_id)
    if row is None:
        raise NotFoundError(f"message {message_id} not found")
    (record,) = await sending.message_records([row])
    return JSONResponse(render_message(record))


async def test_config(request: Request) -> Response:
    """The guide's `POST /api/v1/smtp/configs/{id}/test` with `{"recipient": "..."}`."""
    principal = await principal_of(request)
    resources = resources_of(request)
    body = await json_object(request)
    unknown = sorted(set(body) - {"recipient"})
    if unknown:
        raise ValidationError(f"unknown field {unknown[0]}", field=unknown[0])
    result = await config_checks.test_config(
        principal.account_id,
        request.path_params["config_id"],
        body.get("recipient"),
        keyring=resources.keyring,
        options=resources.transport,
    )
    return JSONResponse(
        {"ok": result.ok, "duration_ms": result.duration_ms, "smtp_response": result.smtp_response}
    )


routes = [
    Route("/api/v1/emails", send_email, methods=["POST"]),
    Route("/api/v1/emails/batch", send_batch, methods=["POST"]),
    Route("/api/v1/emails/{message_id}", get_email, methods=["GET"]),
    Route("/api/v1/smtp/configs/{config_id}/test", test_config, methods=["POST"]),
]
