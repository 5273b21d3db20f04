"""Waiting for a state an outside side effect produces: poll it with a deadline, never sleep."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

#: Between two reads of a state: short against every deadline, long against a query.
POLL_INTERVAL = 0.02


async def eventually(
    read: Callable[[], Awaitable[T]],
    until: Callable[[T], bool],
    *,
    timeout: float = 10.0,
    what: str = "the awaited state",
) -> T:
    """Read until `until(value)` holds and return that value.

    Assert on the returned value, not inside `until`: `until` says when the side effect is
    over (a terminal status, a count reached), the assertions then say whether it was right.

    :raises AssertionError: `timeout` seconds passed first; names `what` and the last value read.
    """
    last: list[T] = []
    try:
        async with asyncio.timeout(timeout):
            while True:
                value = await read()
                if until(value):
                    return value
                last[:] = [value]
                await asyncio.sleep(POLL_INTERVAL)
    except TimeoutError:
        seen = repr(last[0]) if last else "nothing (the read itself did not finish)"
        raise AssertionError(f"{what} not reached within {timeout:g}s; last read: {seen}") from None
