"""`mailsage serve` and `mailsage worker` hide their start-up heap from the cyclic collector."""

from __future__ import annotations

import argparse
import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from mailsage_gql import cli
from mailsage_gql.settings import Settings
from tests.support.databases import base_settings


@pytest.fixture
def unfreeze() -> Iterator[None]:
    yield
    gc.unfreeze()


def test_serve_freezes_the_start_up_heap_before_serving(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, unfreeze: None
) -> None:
    frozen_when_serving: list[int] = []

    def fake_run(app: Any, **options: Any) -> None:
        frozen_when_serving.append(gc.get_freeze_count())

    async def no_migrations(settings: Settings) -> list[str]:
        return []

    monkeypatch.setattr(uvicorn, "run", fake_run)
    # This process keeps the suite's databases open: the embedded migration stays out.
    monkeypatch.setattr(cli.database, "migrate", no_migrations)
    gc.unfreeze()
    settings = base_settings(f"sqlite://{tmp_path / 'heap.db'}")

    cli.cmd_serve(settings, argparse.Namespace(host="127.0.0.1", port=0))

    assert frozen_when_serving and frozen_when_serving[0] > 0
