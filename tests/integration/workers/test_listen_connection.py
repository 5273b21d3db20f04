"""Given a serve process that also sends (PostgreSQL), when it has started, then it holds one
LISTEN connection: its hub and its lease loops are woken through the same one."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette

from mailsage_gql import database
from mailsage_gql.app import create_app
from mailsage_gql.settings import Settings
from tests.support.api import LiveServer

LISTENING = """
SELECT count(*) AS n FROM pg_stat_activity
WHERE datname = current_database() AND query LIKE 'LISTEN %'
"""


@pytest.fixture
def app(settings: Settings) -> Starlette:
    return create_app(settings, own_database=False, run_sender=True)


async def test_a_serve_process_that_sends_holds_one_listen_connection(
    settings: Settings, app: Starlette, live_server: LiveServer
) -> None:
    # given the app started (its lifespan has opened what it listens with)
    # then one connection of this database is listening
    [row] = await database.db_connection(settings).execute_query_dict(LISTENING)
    assert row["n"] == 1
