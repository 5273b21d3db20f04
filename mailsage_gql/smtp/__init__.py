"""SMTP transport: the only package that imports aiosmtplib; takes and returns plain values."""

from mailsage_gql.smtp.connection import (
    SmtpConnection,
    build_tls_context,
    send_test_message,
    verify_endpoint,
)
from mailsage_gql.smtp.pool import SmtpPool, SmtpPoolRegistry
from mailsage_gql.smtp.replies import Failure, classify, enhanced_code, is_rate_limit
from mailsage_gql.smtp.types import (
    IMPLICIT_TLS_PORT,
    OutgoingMessage,
    SendResult,
    SmtpEndpoint,
    TlsMode,
    TransportOptions,
    VerifyResult,
)

__all__ = [
    "IMPLICIT_TLS_PORT",
    "Failure",
    "OutgoingMessage",
    "SendResult",
    "SmtpConnection",
    "SmtpEndpoint",
    "SmtpPool",
    "SmtpPoolRegistry",
    "TlsMode",
    "TransportOptions",
    "VerifyResult",
    "build_tls_context",
    "classify",
    "enhanced_code",
    "is_rate_limit",
    "send_test_message",
    "verify_endpoint",
]
