"""API key shapes: `ms_<12 hex id>_<secret>` splits; anything else does not."""

from __future__ import annotations

import pytest

from mailsage_gql.services.accounts import IssuedKey, _hash_secret, _split_key

SECRET = "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5"


def test_well_formed_key_splits_into_id_and_secret() -> None:
    assert _split_key(f"ms_0123456789ab_{SECRET}") == ("0123456789ab", SECRET)


def test_secret_may_contain_underscores_and_dashes() -> None:
    assert _split_key("ms_0123456789ab_a_b-c") == ("0123456789ab", "a_b-c")


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "ms_",
        "ms_0123456789ab",
        "ms_0123456789ab_",
        f"sk_0123456789ab_{SECRET}",
        f"MS_0123456789ab_{SECRET}",
        f"ms_0123456789a_{SECRET}",
        f"ms_0123456789abc{SECRET}",
        f"0123456789ab_{SECRET}",
        "ms_0123456789ab_sécret",
    ],
)
def test_malformed_keys_do_not_split(raw: str) -> None:
    assert _split_key(raw) is None


def test_issued_key_repr_hides_the_key() -> None:
    issued = IssuedKey(key_id="0123456789ab", account_id=None, api_key=f"ms_0123456789ab_{SECRET}")  # type: ignore[arg-type]

    assert SECRET not in repr(issued)


def test_secret_hash_is_sha256_hex_and_not_the_secret() -> None:
    digest = _hash_secret(SECRET)

    assert len(digest) == 64 and SECRET not in digest
