"""Given validated message parts, when rendered, then a standard parser reads back exactly the
headers and bodies that went in, with CRLF line endings and no Bcc."""

from __future__ import annotations

import email.parser
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage

from hypothesis import given
from hypothesis import strategies as st

from mailsage_gql.delivery.rendering import MessageParts, render

_PARSER = email.parser.BytesParser(policy=email.policy.default)


def parts(**overrides: object) -> MessageParts:
    values: dict[str, object] = {
        "from_email": "sender@example.com",
        "to": ["ann@example.org", "bob@example.org"],
        "cc": [],
        "subject": "Quarterly report",
        "text": "Hello Ann,\nthe numbers are in.\n",
        "html": None,
        "reply_to": None,
        "headers": [],
        "message_id": "<abc123@example.com>",
        "date": datetime(2026, 11, 29, 12, 0, tzinfo=UTC),
    }
    values.update(overrides)
    return MessageParts(**values)  # type: ignore[arg-type]


def parse(data: bytes) -> EmailMessage:
    message = _PARSER.parsebytes(data)
    assert isinstance(message, EmailMessage)
    return message


def test_headers_and_plain_body_read_back() -> None:
    data = render(
        parts(
            cc=["carol@example.org"],
            reply_to="replies@example.com",
            headers=[("X-Campaign", "autumn")],
        )
    )

    message = parse(data)
    assert message["From"] == "sender@example.com"
    assert message["To"] == "ann@example.org, bob@example.org"
    assert message["Cc"] == "carol@example.org"
    assert message["Reply-To"] == "replies@example.com"
    assert message["Subject"] == "Quarterly report"
    assert message["Message-ID"] == "<abc123@example.com>"
    assert message["X-Campaign"] == "autumn"
    assert message.get_content().replace("\r\n", "\n") == "Hello Ann,\nthe numbers are in.\n"
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert b"Bcc" not in data


def test_unicode_subject_and_body_are_encoded_and_read_back() -> None:
    subject = "Ünïcödé report ✉ — 日本語"
    text = "Grüße, ça va? " + "ß" * 2000 + "\nend"
    message = parse(render(parts(subject=subject, text=text)))

    assert message["Subject"] == subject
    assert message.get_content().replace("\r\n", "\n") == text + "\n"
    assert all(len(line) <= 998 for line in render(parts(text=text)).split(b"\r\n"))


def test_text_and_html_make_a_multipart_alternative() -> None:
    message = parse(render(parts(text="plain", html="<p>rich</p>")))

    assert message.get_content_type() == "multipart/alternative"
    plain = message.get_body(("plain",))
    rich = message.get_body(("html",))
    # The CRLF before a boundary belongs to the boundary: parts read back without it.
    assert plain is not None and plain.get_content() == "plain"
    assert rich is not None and rich.get_content() == "<p>rich</p>"


def test_html_only() -> None:
    message = parse(render(parts(text=None, html="<b>hi</b>")))

    assert message.get_content_type() == "text/html"
    assert message.get_content().replace("\r\n", "\n") == "<b>hi</b>\n"


def test_a_long_ascii_subject_is_folded_within_the_line_limit() -> None:
    subject = "word " * 190
    data = render(parts(subject=subject.strip()))

    assert parse(data)["Subject"] == subject.strip()
    assert all(len(line) <= 998 for line in data.split(b"\r\n"))


@given(
    st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\x00"), max_size=3000
    )
)
def test_any_body_text_round_trips(text: str) -> None:
    message = parse(render(parts(text=text)))

    expected = text if text.endswith("\n") else text + "\n"
    assert message.get_content().replace("\r\n", "\n") == expected
