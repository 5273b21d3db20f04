"""Values made from objects, remembered by the objects' identity, in bounded memory."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class IdentityMemo(Generic[K, V]):
    """`get(obj, make)` is `make(obj)`, made once per object while it is remembered.

    By identity, not equality: for objects that are expensive to hash (a parsed document)
    or whose equal values differ in what is made of them (equal datetimes in other zones
    print differently). Each entry keeps its object alive, so no other object can take its
    id meanwhile. Bounded: it starts over when `size` objects are remembered. Only for
    objects nobody mutates and `make` functions of the object alone.
    """

    __slots__ = ("_entries", "_size")

    def __init__(self, size: int) -> None:
        self._entries: dict[int, tuple[K, V]] = {}
        self._size = size

    def get(self, obj: K, make: Callable[[K], V]) -> V:
        entry = self._entries.get(id(obj))
        if entry is not None and entry[0] is obj:
            return entry[1]
        value = make(obj)
        if len(self._entries) >= self._size:
            self._entries.clear()
        self._entries[id(obj)] = (obj, value)
        return value
