"""The include plans already made, by the plain data of their shape, least recently used
dropped first."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

Kept = TypeVar("Kept")
# Shapes kept: endpoints x include/fields parameters x scopes in use.
PLANS_KEPT = 1024


class PlanCache(Generic[Kept]):
    """Plans by key (endpoint, `include` / `fields` parameters, scope): a hit is a dict
    lookup; building a plan (its statements, joins and serialisers) is done once."""

    def __init__(self, size: int = PLANS_KEPT) -> None:
        self._size = size
        self._kept: OrderedDict[Hashable, Kept] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, build: Callable[[], Kept]) -> Kept:
        """The plan kept for `key`, else `build()`'s (kept unless it raises)."""
        with self._lock:
            found = self._kept.get(key)
            if found is not None:
                self._kept.move_to_end(key)
                return found
        made = build()
        with self._lock:
            self._kept[key] = made
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)
        return made

    def __len__(self) -> int:
        return len(self._kept)
