"""A batch's view of the behaviour profile table: read once, written once per key (pure).

Scoring a check folds it into up to five profiles (seller, pair, buyer, requester, a population), and
an issuance into four. Written straight to the worker's table, every fold would be a changelog record
and an encoding of the whole profile; the populations, touched by every event, would be written
hundreds of times per batch. `BatchProfiles` is the store `fapiao.risk.behaviour` folds into during
one batch: a key is read from the table the first time it is needed, later reads and writes stay in
memory, and `dirty()` gives each changed profile once, for the agent to write back at the end of the
batch. Results are identical to folding into the table directly (the same folds in the same order).

Keys are qualified by partition where the table's partitioning does not place them: seller and pair
profiles live where their seller's events are, but a population (`*|…`), a buyer (`b|…`) and a
requester (`r|…`) are folded in every partition that sees them, so each partition keeps its own
(`…@<partition>`): one partition's view, never a value two partitions overwrite in turn. With 12
partitions a buyer's or requester's profile therefore sees the checks of the sellers of its partition
only (docs/risk-model.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, MutableMapping

from fapiao.risk.profiles import Profile, copy_profile

_PER_PARTITION = ("*|", "b|", "r|")


def table_key(key: str, partition: int) -> str:
    """The table key of a profile key folded in `partition`."""
    return f"{key}@{partition}" if key.startswith(_PER_PARTITION) else key


class BatchProfiles(MutableMapping[str, Profile]):
    """Profiles of one partition during one batch, over `read` (the table's get). `owned(key)` gives
    the batch's own copy of a profile to fold in place (copied once per batch, on the first fold; not
    at all when `fresh`: each read decodes a new value, e.g. from RocksDB)."""

    def __init__(self, read: Callable[[str], Profile | None], partition: int, *, fresh: bool = False) -> None:
        self._read = read
        self.partition = partition
        self.fresh = fresh
        self._values: dict[str, Profile | None] = {}
        self._dirty: set[str] = set()
        self._owned: set[str] = set()

    def preload(self, values: Mapping[str, Profile | None]) -> None:
        """Profiles (by profile key, None where absent) read beforehand, e.g. in one multi-get."""
        for key, value in values.items():
            self._values.setdefault(key, value)

    def owned(self, key: str) -> Profile | None:
        """The batch's own copy of the profile at `key` (None if there is none yet), to fold in place
        (the caller stores it back, which marks it changed)."""
        value = self.get(key)
        if value is None or key in self._owned:
            return value
        if not self.fresh:
            value = copy_profile(value)
            self._values[key] = value
        self._owned.add(key)
        return value

    def __getitem__(self, key: str) -> Profile:
        if key not in self._values:
            self._values[key] = self._read(table_key(key, self.partition))
        value = self._values[key]
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, value: Profile) -> None:
        self._values[key] = value
        self._dirty.add(key)
        self._owned.add(key)  # a value stored in the batch belongs to it (the folds made it)

    def __delitem__(self, key: str) -> None:
        raise TypeError("profiles are folded, never deleted")

    def __iter__(self) -> Iterator[str]:
        return (key for key, value in self._values.items() if value is not None)

    def __len__(self) -> int:
        return sum(1 for value in self._values.values() if value is not None)

    def dirty(self) -> list[tuple[str, Profile]]:
        """(table key, profile) of every profile changed since the last call, each once."""
        out = [(table_key(key, self.partition), self._values[key]) for key in sorted(self._dirty)]
        self._dirty.clear()
        return [(key, value) for key, value in out if value is not None]


class OwnedProfiles(dict[str, Profile]):
    """A store that owns every profile in it (the replay's: nothing else holds them), so the folds
    change them in place."""

    def owned(self, key: str) -> Profile | None:
        return self.get(key)
