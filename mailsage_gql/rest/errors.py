"""The one translation point from exceptions to REST error bodies and statuses."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mailsage_gql.errors import (
    ConflictError,
    MailsageError,
    NotFoundError,
    PayloadTooLargeError,
    RateLimitedError,
    SmtpError,
    SmtpRateLimitError,
    UnauthenticatedError,
    ValidationError,
)

log = logging.getLogger("mailsage.rest")

_STATUS: list[tuple[type[MailsageError], int]] = [
    (ValidationError, 400),
    (UnauthenticatedError, 401),
    (NotFoundError, 404),
    (PayloadTooLargeError, 413),
    (ConflictError, 409),
    (RateLimitedError, 429),
    (SmtpRateLimitError, 429),
    (SmtpError, 502),  # the provider said no: an upstream failure, not the caller's request
]


class ErrorResponse(JSONResponse):
    """JSON with every non-ASCII character escaped. An error message may echo input that is
    not valid UTF-8 (a lone surrogate sent as a JSON escape); it must still render."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False).encode("ascii")


def status_for(exc: MailsageError) -> int:
    for kind, status in _STATUS:
        if isinstance(exc, kind):
            return status
    return 500


def error_body(exc: MailsageError) -> dict[str, object]:
    error: dict[str, object] = {"code": exc.code, "message": exc.message, "field": exc.field}
    if isinstance(exc, SmtpError):
        error.update(stage=exc.stage, smtp_code=exc.smtp_code, enhanced_code=exc.enhanced_code)
    return {"error": error}


async def mailsage_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, MailsageError)
    if exc.code == MailsageError.code:
        return await unexpected_error_handler(request, exc)
    headers = {}
    if isinstance(exc, RateLimitedError):
        headers["Retry-After"] = str(max(1, round(exc.retry_after)))
    return ErrorResponse(error_body(exc), status_code=status_for(exc), headers=headers)


async def unexpected_error_handler(request: Request, exc: Exception) -> Response:
    request_id = uuid.uuid4().hex[:12]
    log.error(
        "unexpected error on %s %s (request id %s)",
        request.method,
        request.url.path,
        request_id,
        exc_info=exc,
    )
    return JSONResponse(
        {
            "error": {
                "code": "internal_error",
                "message": f"Internal error (request id {request_id}).",
                "field": None,
                "request_id": request_id,
            }
        },
        status_code=500,
    )
