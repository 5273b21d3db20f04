"""The one MailsageError tree; every failure a client can see carries one machine code.

A client is shown the message of an error whose code is not `internal_error`; one with that
code is masked and logged with a request id (an operator's problem, not the caller's).

MailsageError
├── ConfigurationError          settings that cannot work (refuse to start)
├── UnauthenticatedError        unauthenticated
├── RateLimitedError            rate_limited
├── NotFoundError               not_found
├── ConflictError               conflict
├── ValidationError             smtp_validation_failed (with .field)
├── UnresolvableHostError       a host name did not resolve (also an OSError); callers
│                               translate it (SMTP: smtp_connection_error)
├── LeaseLostError              internal, never shown: another worker took the message
├── PayloadTooLargeError        payload_too_large (a request body over the configured size)
├── UnsealError                 internal_error, masked (no key opens it; also a ValueError)
├── SubscriberOverflowError     internal_error, masked (a live subscriber fell too far behind)
└── SmtpError                   an SMTP outcome, classified once in mailsage_gql.smtp
    ├── SmtpAuthError                smtp_auth_error
    ├── SmtpConnectionError          smtp_connection_error
    │   └── SmtpTimeoutError         smtp_connection_error (also a TimeoutError)
    ├── SmtpRateLimitError           smtp_rate_limit
    ├── SmtpTemporaryError           smtp_temporary_error (other 4xx)
    ├── SmtpRecipientRejectedError   smtp_recipient_rejected (permanent)
    ├── SmtpMessageRejectedError     smtp_message_rejected (permanent)
    └── SmtpUncertainError           smtp_uncertain (died after the final dot)
"""

from __future__ import annotations

from typing import ClassVar


class MailsageError(Exception):
    """Base of every error we raise on purpose; `code` is the client-facing machine code."""

    code: ClassVar[str] = "internal_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return self.message


class ConfigurationError(MailsageError):
    """The settings cannot work; the process refuses to start."""

    code = "configuration_error"


class UnauthenticatedError(MailsageError):
    code = "unauthenticated"


class RateLimitedError(MailsageError):
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NotFoundError(MailsageError):
    code = "not_found"


class ConflictError(MailsageError):
    code = "conflict"


class ValidationError(MailsageError, ValueError):
    """Bad input; `field` names the input field (camelCase on GraphQL, snake_case on REST)."""

    code = "smtp_validation_failed"


class SmtpError(MailsageError):
    """An SMTP outcome. `stage` is where it happened (connect, tls, auth, mail, rcpt, data)."""

    code = "smtp_error"
    #: True when trying another provider may succeed (failover); False for permanent rejections.
    provider_failure: ClassVar[bool] = True

    def __init__(
        self,
        message: str,
        *,
        stage: str | None = None,
        smtp_code: int | None = None,
        enhanced_code: str | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message, field=field)
        self.stage = stage
        self.smtp_code = smtp_code
        self.enhanced_code = enhanced_code


class SmtpAuthError(SmtpError):
    code = "smtp_auth_error"


class SmtpConnectionError(SmtpError, ConnectionError):
    code = "smtp_connection_error"


class SmtpTimeoutError(SmtpConnectionError, TimeoutError):
    code = "smtp_connection_error"


class SmtpRateLimitError(SmtpError):
    code = "smtp_rate_limit"


class SmtpTemporaryError(SmtpError):
    code = "smtp_temporary_error"


class SmtpRecipientRejectedError(SmtpError):
    code = "smtp_recipient_rejected"
    provider_failure = False


class SmtpMessageRejectedError(SmtpError):
    code = "smtp_message_rejected"
    provider_failure = False


class SmtpUncertainError(SmtpError):
    """The connection died after the final dot: the provider may have accepted it. Never resend."""

    code = "smtp_uncertain"
    provider_failure = False


class UnresolvableHostError(MailsageError, OSError):
    """A host name did not resolve (mailsage_gql.host_policy); `host` is the name."""

    def __init__(self, message: str, *, host: str) -> None:
        super().__init__(message)
        self.host = host


class LeaseLostError(MailsageError):
    """Another worker took the message over (our lease expired): stop touching it. Internal:
    the worker that meets it logs it; no client sees it, so it has no code of its own."""

    def __init__(self, message_id: object) -> None:
        super().__init__(f"the lease on message {message_id} was lost")
        self.message_id = message_id


class PayloadTooLargeError(MailsageError):
    """A request body over the configured size; refused before it is buffered whole."""

    code = "payload_too_large"


class UnsealError(MailsageError, ValueError):
    """A sealed value that no known key opens for this row (wrong key, wrong row, or tampered)."""


class SubscriberOverflowError(MailsageError):
    """A subscriber fell too far behind; it must reconnect with `after` to catch up."""
