"""A small per-process cache with a time limit, for reference data and token lookups on hot paths.

Each gunicorn worker keeps its own copy: a change made elsewhere (another worker, a management
command) is seen here at the latest `seconds` later. Changes made in this process clear it at once
(see `minqing.api.apps`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

T = TypeVar("T")
_MISSING = object()


class TtlCache(Generic[T]):
    def __init__(self, seconds: float, max_entries: int = 10_000) -> None:
        self.seconds = seconds
        self.max_entries = max_entries
        self._entries: dict[Hashable, tuple[float, T]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> T | None:
        hit = self._entries.get(key)
        if hit is None or time.monotonic() - hit[0] >= self.seconds:
            return None
        return hit[1]

    def put(self, key: Hashable, value: T) -> None:
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[key] = (time.monotonic(), value)

    def get_or_load(self, key: Hashable, load: Callable[[], T | None]) -> T | None:
        """The cached value, or `load()`; None results are not cached (they raise or refuse upstream)."""
        value: Any = self.get(key)
        if value is None:
            value = load()
            if value is not None:
                self.put(key, value)
        return value

    def discard(self, match: Callable[[Hashable, T], bool]) -> None:
        with self._lock:
            for key in [k for k, (_, v) in self._entries.items() if match(k, v)]:
                del self._entries[key]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
