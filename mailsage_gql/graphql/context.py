"""The per-request GraphQL context: who is calling, and the process resources."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mailsage_gql.errors import RateLimitedError, UnauthenticatedError
from mailsage_gql.services.accounts import Principal
from mailsage_gql.services.resources import Resources


@dataclass
class Context:
    resources: Resources
    request: Any
    response: Any = None
    #: Set when the bearer key authenticated; otherwise `auth_error` says why not.
    _principal: Principal | None = None
    auth_error: UnauthenticatedError | RateLimitedError | None = field(default=None)
    #: The graphql-transport-ws connection_init payload (set by Strawberry on websockets).
    connection_params: dict[str, Any] | None = None

    @property
    def principal(self) -> Principal:
        """:raises UnauthenticatedError: the request carried no valid API key."""
        if self._principal is None:
            raise self.auth_error or UnauthenticatedError("authentication required")
        return self._principal
