"""A clock a test moves: the wall clock shifted by what the test advanced, or frozen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest


class ManualClock:
    """States: following the wall clock (plus the offset `advance` built up), or frozen at an
    instant (`freeze`; `advance` then moves that instant). Satisfies delivery.clock.Clock."""

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._frozen: datetime | None = None

    def now(self) -> datetime:
        if self._frozen is not None:
            return self._frozen
        return datetime.now(UTC) + self._offset

    def advance(self, by: timedelta) -> None:
        if self._frozen is not None:
            self._frozen += by
        else:
            self._offset += by

    def freeze(self, at: datetime) -> None:
        self._frozen = at.astimezone(UTC)


@pytest.fixture
def clock() -> ManualClock:
    """The time an engine's deliverer decides by: the wall clock until a test moves it."""
    return ManualClock()
