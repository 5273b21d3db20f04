"""SMTP passwords are sealed at rest, bound to their row, and re-sealed on key rotation."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from mailsage_gql import database
from mailsage_gql.crypto import Keyring, UnsealError, generate_key
from mailsage_gql.services.secret_rotation import reseal_all_secrets
from mailsage_gql.services.smtp_configs import password_context
from mailsage_gql.settings import Settings
from tests.support.api import GraphQL, Tenant
from tests.support.configs import UPDATE, gql_create
from tests.support.recording import ResponseLog, guard_responses, new_password


@pytest.fixture(autouse=True)
def responses(client: httpx.AsyncClient) -> Iterator[ResponseLog]:
    yield from guard_responses(client)


async def stored_token(settings: Settings, config_id: str) -> str | None:
    rows = await database.db_connection(settings).execute_query_dict(
        f"SELECT password_sealed FROM smtp_config WHERE id = '{config_id}'"
    )
    token: str | None = rows[0]["password_sealed"]
    return token


def keyring(settings: Settings) -> Keyring:
    return Keyring.from_config(settings.secret_key)


def context_of(config_id: str) -> str:
    return password_context(uuid.UUID(config_id))


async def test_stored_ciphertext_differs_from_and_does_not_contain_the_password(
    gql: GraphQL, tenant: Tenant, settings: Settings
) -> None:
    password = new_password()
    config = await gql_create(gql, tenant, password=password)

    token = await stored_token(settings, config["id"])

    assert token is not None
    assert token != password and password not in token


async def test_stored_ciphertext_opens_with_the_key_and_its_own_row(
    gql: GraphQL, tenant: Tenant, settings: Settings
) -> None:
    password = new_password()
    config = await gql_create(gql, tenant, password=password)

    token = await stored_token(settings, config["id"])

    assert keyring(settings).open(token or "", context=context_of(config["id"])) == password


async def test_ciphertext_copied_to_another_row_fails_to_open(
    gql: GraphQL, tenant: Tenant, settings: Settings
) -> None:
    source = await gql_create(gql, tenant, password=new_password())
    target = await gql_create(gql, tenant)
    token = await stored_token(settings, source["id"])
    await database.db_connection(settings).execute_query(
        f"UPDATE smtp_config SET password_sealed = '{token}' WHERE id = '{target['id']}'"
    )

    copied = await stored_token(settings, target["id"])

    with pytest.raises(UnsealError):
        keyring(settings).open(copied or "", context=context_of(target["id"]))


async def test_stored_ciphertext_does_not_open_with_another_key(
    gql: GraphQL, tenant: Tenant, settings: Settings
) -> None:
    config = await gql_create(gql, tenant, password=new_password())

    token = await stored_token(settings, config["id"])

    with pytest.raises(UnsealError):
        Keyring.from_config(generate_key()).open(token or "", context=context_of(config["id"]))


async def test_cleared_password_leaves_no_ciphertext(
    gql: GraphQL, tenant: Tenant, settings: Settings
) -> None:
    config = await gql_create(gql, tenant, password=new_password())

    await gql(UPDATE, {"id": config["id"], "input": {"password": ""}}, tenant=tenant)

    assert await stored_token(settings, config["id"]) is None


async def test_rotation_reseals_every_secret_with_the_newest_key(
    gql: GraphQL, tenant: Tenant, settings: Settings
) -> None:
    passwords = {
        (await gql_create(gql, tenant, password=p))["id"]: p
        for p in (new_password(), new_password())
    }
    await gql_create(gql, tenant)  # no password: nothing to re-seal
    rotated = Keyring.from_config(f"{generate_key()},{settings.secret_key}")

    count = await reseal_all_secrets(rotated)

    tokens = {cid: await stored_token(settings, cid) for cid in passwords}
    assert count == 2
    assert {t.split(":")[1] for t in tokens.values() if t} == {rotated.current_key_id}
    assert {cid: rotated.open(t or "", context=context_of(cid)) for cid, t in tokens.items()} == (
        passwords
    )


async def test_rotation_twice_reseals_nothing_the_second_time(
    gql: GraphQL, tenant: Tenant, settings: Settings
) -> None:
    await gql_create(gql, tenant, password=new_password())
    rotated = Keyring.from_config(f"{generate_key()},{settings.secret_key}")
    await reseal_all_secrets(rotated)

    assert await reseal_all_secrets(rotated) == 0


async def test_rotation_without_the_old_key_fails_and_changes_nothing(
    gql: GraphQL, tenant: Tenant, settings: Settings
) -> None:
    config = await gql_create(gql, tenant, password=new_password())
    before = await stored_token(settings, config["id"])

    with pytest.raises(UnsealError):
        await reseal_all_secrets(Keyring.from_config(generate_key()))

    assert await stored_token(settings, config["id"]) == before
