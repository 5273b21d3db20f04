"""Sealing of secrets: round trips, row binding, tampering, unknown keys and rotation."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailsage_gql.crypto import Keyring, UnsealError, generate_key, key_id
from mailsage_gql.errors import ConfigurationError

KEY = generate_key()
OLD_KEY = generate_key()
RING = Keyring.from_config(KEY)


def raw(key: str) -> bytes:
    return base64.b64decode(key)


@given(plaintext=st.text(), context=st.text(min_size=1))
def test_sealed_text_opens_to_the_same_text(plaintext: str, context: str) -> None:
    token = RING.seal(plaintext, context=context)

    assert RING.open(token, context=context) == plaintext


@given(plaintext=st.text(min_size=8))
def test_token_does_not_contain_the_plaintext(plaintext: str) -> None:
    token = RING.seal(plaintext, context="row")

    assert plaintext not in token


def test_same_plaintext_seals_differently_each_time() -> None:
    assert RING.seal("secret", context="row") != RING.seal("secret", context="row")


def test_token_carries_version_and_current_key_id() -> None:
    version, kid, _ = RING.seal("secret", context="row").split(":", 2)

    assert (version, kid) == ("v1", key_id(raw(KEY)))


def test_wrong_context_fails_to_open() -> None:
    token = RING.seal("secret", context="smtp_config:a:password")

    with pytest.raises(UnsealError):
        RING.open(token, context="smtp_config:b:password")


@pytest.mark.parametrize("position", [0, 10, 40, -1])
def test_tampered_payload_fails_to_open(position: int) -> None:
    version, kid, payload = RING.seal("secret", context="row").split(":", 2)
    data = bytearray(base64.b64decode(payload))
    data[position] ^= 0x01

    with pytest.raises(UnsealError):
        RING.open(f"{version}:{kid}:{base64.b64encode(bytes(data)).decode()}", context="row")


def test_unknown_key_id_fails_to_open() -> None:
    token = Keyring.from_config(OLD_KEY).seal("secret", context="row")

    with pytest.raises(UnsealError, match="unknown key"):
        RING.open(token, context="row")


@pytest.mark.parametrize("token", ["", "garbage", "v1:abc", "v2:x:AAAA", "v1:" + "0" * 8 + ":!!"])
def test_malformed_token_fails_to_open(token: str) -> None:
    with pytest.raises(UnsealError):
        RING.open(token, context="row")


def test_rotated_keyring_opens_tokens_of_the_old_key() -> None:
    token = Keyring.from_config(OLD_KEY).seal("secret", context="row")

    rotated = Keyring.from_config(f"{KEY},{OLD_KEY}")

    assert rotated.open(token, context="row") == "secret"


def test_needs_reseal_is_true_for_an_older_key() -> None:
    token = Keyring.from_config(OLD_KEY).seal("secret", context="row")

    assert Keyring.from_config(f"{KEY},{OLD_KEY}").needs_reseal(token) is True


def test_needs_reseal_is_false_for_the_newest_key() -> None:
    rotated = Keyring.from_config(f"{KEY},{OLD_KEY}")

    assert rotated.needs_reseal(rotated.seal("secret", context="row")) is False


@pytest.mark.parametrize(
    "config", ["", "not base64!", base64.b64encode(b"short").decode(), f"{KEY},xx"]
)
def test_bad_key_configuration_is_refused(config: str) -> None:
    with pytest.raises(ConfigurationError):
        Keyring.from_config(config)


def test_configuration_error_does_not_echo_the_key() -> None:
    bad = base64.b64encode(b"k" * 31).decode()

    with pytest.raises(ConfigurationError) as refused:
        Keyring.from_config(f"{KEY},{bad}")

    assert bad not in str(refused.value) and KEY not in str(refused.value)


def test_repr_shows_key_ids_only() -> None:
    assert KEY not in repr(RING)
    assert key_id(raw(KEY)) in repr(RING)


def test_generated_keys_are_32_random_bytes() -> None:
    first, second = generate_key(), generate_key()

    assert len(raw(first)) == 32
    assert first != second
