"""Recently authenticated API keys, so that a busy system's key costs no database round trip (a
thread hop and a SQLite/PostgreSQL query) on every request.

An entry lives `ttl` seconds; revoking a key drops it from this process at once, and other API
processes stop accepting it within `ttl`. Entries are keyed by a SHA-256 of the presented key, so the
cache never holds a usable secret.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict

from fapiao.accounts.roles import Identity


class IdentityCache:
    def __init__(self, ttl: float, capacity: int = 10_000) -> None:
        self._ttl = ttl
        self._capacity = capacity
        self._entries: OrderedDict[str, tuple[float, Identity]] = OrderedDict()

    @staticmethod
    def _key(presented: str) -> str:
        return hashlib.sha256(presented.strip().encode("utf-8")).hexdigest()

    def get(self, presented: str) -> Identity | None:
        if self._ttl <= 0:
            return None
        entry = self._entries.get(self._key(presented))
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, presented: str, identity: Identity) -> None:
        if self._ttl <= 0:
            return
        key = self._key(presented)
        self._entries[key] = (time.monotonic() + self._ttl, identity)
        self._entries.move_to_end(key)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)

    def forget_key(self, key_id: str) -> None:
        """Drop every entry of this API key (after a revocation)."""
        for cache_key in [k for k, (_, ident) in self._entries.items() if ident.subject == key_id]:
            del self._entries[cache_key]
