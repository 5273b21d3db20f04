"""The transport's plain values: TLS mode selection and secrets kept out of reprs."""

from __future__ import annotations

import pytest

from mailsage_gql.smtp import SmtpEndpoint


@pytest.mark.parametrize(
    ("port", "use_tls", "implicit_tls", "expected"),
    [
        (465, True, None, "implicit"),
        (587, True, None, "starttls"),
        (25, True, None, "starttls"),
        (465, False, None, "none"),
        (587, False, None, "none"),
        (2525, True, True, "implicit"),
        (465, True, False, "starttls"),
    ],
)
def test_the_tls_mode_follows_use_tls_port_and_override(
    port: int, use_tls: bool, implicit_tls: bool | None, expected: str
) -> None:
    endpoint = SmtpEndpoint("smtp.example.com", port, use_tls, implicit_tls=implicit_tls)

    assert endpoint.tls_mode == expected


def test_implicit_tls_without_tls_is_refused() -> None:
    with pytest.raises(ValueError, match="implicit_tls"):
        SmtpEndpoint("smtp.example.com", 465, False, implicit_tls=True)


def test_the_password_is_not_in_the_repr() -> None:
    endpoint = SmtpEndpoint("smtp.example.com", 587, True, "user", "s3cret-passw0rd")

    assert "s3cret-passw0rd" not in repr(endpoint)
    assert "user" in repr(endpoint)
