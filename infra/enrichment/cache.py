"""A small time-bounded cache of what enrichment found, per tenant and object."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class TtlCache(Generic[V]):
    """Values kept ``ttl`` seconds, at most ``size`` of them (the oldest written go first).

    A burst of events on one task or thread (a comment storm, a webhook retried by the
    provider) reads the provider once; after ``ttl`` the next event reads it afresh.
    """

    def __init__(self, ttl: float, size: int = 2048,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._size = size
        self._clock = clock
        self._items: OrderedDict[Hashable, tuple[float, V]] = OrderedDict()

    def get(self, key: Hashable) -> V | None:
        """The value under ``key`` if written less than ``ttl`` seconds ago."""
        held = self._items.get(key)
        if held is None:
            return None
        if self._clock() - held[0] >= self._ttl:
            del self._items[key]
            return None
        return held[1]

    def put(self, key: Hashable, value: V) -> None:
        """Keep ``value`` under ``key`` from now."""
        self._items.pop(key, None)
        self._items[key] = (self._clock(), value)
        while len(self._items) > self._size:
            self._items.popitem(last=False)
