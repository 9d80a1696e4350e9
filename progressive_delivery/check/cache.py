"""A bounded, thread-safe cache of results by a digest of everything they were computed from.

Builds and chart renders are pure functions of their inputs; keyed by a digest of those inputs, a
result is reused by the clusters of one check and by later checks in the same process (publish, tests).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, TypeVar

T = TypeVar("T")


class ContentCache(Generic[T]):
    def __init__(self, size: int):
        self.size = size
        self.items: OrderedDict[str, T] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str) -> T | None:
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
            return self.items.get(key)

    def put(self, key: str, value: T) -> None:
        with self.lock:
            self.items[key] = value
            while len(self.items) > self.size:
                self.items.popitem(last=False)
