"""Values worked out once per object and kept with it, for objects that come back unchanged
call after call (frozen promotions, rewards, refusals: the till's snapshot hands out the same
ones receipt after receipt).

Kept by identity, with the object itself (so its id stays unique while the value is kept),
and bounded: when full, everything is dropped and made again as needed. A value must depend
on nothing but the object: then keeping it changes no result.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
V = TypeVar("V")


class PerObject(Generic[T, V]):
    """`kept(obj)` is `make(obj)`, made once per object (at most `limit` kept)."""

    __slots__ = ("_kept", "_make", "_limit")

    def __init__(self, make: Callable[[T], V], limit: int = 8192) -> None:
        self._kept: dict[int, tuple[T, V]] = {}
        self._make = make
        self._limit = limit

    def __call__(self, obj: T) -> V:
        return self.of(obj)

    def of(self, obj: T) -> V:
        """`kept(obj)` as a method: compiled callers call it directly, where calling the
        instance goes through Python (argument parsing and all) on every call."""
        kept = self._kept.get(id(obj))
        if kept is None or kept[0] is not obj:
            if len(self._kept) >= self._limit:
                self._kept.clear()
            kept = self._kept[id(obj)] = (obj, self._make(obj))
        return kept[1]
