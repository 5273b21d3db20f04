"""Values made from objects, remembered by the objects' identity, in a cachetools LRUCache."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from cachetools import LRUCache

K = TypeVar("K")
V = TypeVar("V")


class IdentityCache(Generic[K, V]):
    """`get(obj, make)` is `make(obj)`, made once per object while it is remembered.

    By identity, not equality: for objects whose equal values differ in what is made of them
    (equal datetimes in other zones print differently), or that cost more to hash than to
    look up. Each entry keeps its object alive, so no other object can take its id meanwhile.
    At most `size` objects are remembered, the least recently used going first. Only for
    objects nobody mutates and `make` functions of the object alone.
    """

    __slots__ = ("_entries",)

    def __init__(self, size: int) -> None:
        self._entries: LRUCache[int, tuple[K, V]] = LRUCache(maxsize=size)

    def get(self, obj: K, make: Callable[[K], V]) -> V:
        entry = self._entries.get(id(obj))
        if entry is not None and entry[0] is obj:
            return entry[1]
        value = make(obj)
        self._entries[id(obj)] = (obj, value)
        return value
