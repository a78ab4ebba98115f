"""The risk agent's in-place folds (issue 20, "keep the cost inside the budget"): folding each batch's
profiles and seller statistics in place, into copies the batch owns, gives exactly what the pure
per-record folds give (every fold on a fresh copy, nothing shared) on a demo replay: the same
deviations, features, rule hits and behaviour scores, the same profiles and statistics, dict order
included, whether the batch's reads share the table's values (memory://) or
decode new ones (RocksDB)."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator, MutableMapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from fapiao.demo import DemoFeed
from fapiao.risk import behaviour, behaviour_model, profile_codec, seller_stats, seller_stats_codec
from fapiao.risk import profiles as pf
from fapiao.risk.profile_cache import BatchProfiles, table_key
from fapiao.risk.replay import Replay, Scored
from fapiao.risk.rules import DEFAULT_RULES, weight
from schemas.events import SellerActivity

Stats = dict[str, Any]


class BatchSellers(MutableMapping[str, Stats]):
    """The risk agent's seller statistics during one batch: each read once from `table` (encoded, as
    RocksDB holds them: a new value per read), folded in place, written back at the end of the batch."""

    def __init__(self, table: dict[str, bytes]) -> None:
        self.table = table
        self.values: dict[str, Stats | None] = {}

    def __getitem__(self, key: str) -> Stats:
        if key not in self.values:
            raw = self.table.get(key)
            self.values[key] = None if raw is None else seller_stats_codec.decode(raw)
        value = self.values[key]
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, value: Stats) -> None:
        self.values[key] = value

    def __delitem__(self, key: str) -> None:
        raise TypeError

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)

    def write_back(self) -> None:
        for key, value in self.values.items():
            if value is not None:
                self.table[key] = seller_stats_codec.encode(value)
        self.values = {}


def _events() -> list[Any]:
    return DemoFeed(23, datetime(2026, 4, 1, tzinfo=UTC)).history(300, 300)


class CopyingSellers(dict[str, Stats]):
    """Seller statistics handed out as copies: every fold works on a fresh one, nothing is shared."""

    def get(self, key: str, default: Any = None) -> Any:
        value = super().get(key)
        return default if value is None else seller_stats.copy_stats(value)


@functools.cache  # the same reference for every parametrisation (nothing changes it afterwards)
def _reference() -> tuple[list[Scored], Replay]:
    """Per record, nothing folded in place into anything shared: each fold into a fresh copy (a plain
    dict of profiles has no `owned`, so behaviour folds a copy of each profile per observation)."""
    replay = Replay()
    replay.profiles = {}
    replay.sellers = CopyingSellers()
    return [s for event in _events() for s in replay.feed(event)], replay


def _batched(size: int, fresh: bool) -> tuple[list[Scored], dict[str, pf.Profile], dict[str, bytes]]:
    """In place, `size` events a batch, as the worker: profiles in a BatchProfiles over a table (its
    values shared with the batch's reads, or decoded anew as RocksDB does), seller statistics read
    once per batch and written back at its end."""
    profiles: dict[str, bytes | pf.Profile] = {}
    read: Callable[[str], pf.Profile | None]
    if fresh:

        def read(key: str) -> pf.Profile | None:
            raw = profiles.get(key)
            return profile_codec.decode(raw) if isinstance(raw, bytes) else None

    else:
        read = profiles.get  # type: ignore[assignment]
    replay = Replay()
    sellers = BatchSellers({})
    replay.sellers = sellers  # type: ignore[assignment]
    store = BatchProfiles(read, 0, fresh=fresh)
    replay.profiles = store  # type: ignore[assignment]
    scored: list[Scored] = []
    events = _events()
    for i, event in enumerate(events):
        scored += replay.feed(event)
        if (i + 1) % size == 0 or i == len(events) - 1:
            for key, value in store.dirty():
                profiles[key] = profile_codec.encode(value) if fresh else value
            sellers.write_back()
            store = BatchProfiles(read, 0, fresh=fresh)
            replay.profiles = store  # type: ignore[assignment]
    decoded = {k: profile_codec.decode(v) if isinstance(v, bytes) else v for k, v in profiles.items()}
    return scored, decoded, sellers.table  # type: ignore[return-value]


def _rows(scored: list[Scored]) -> list[tuple[Any, ...]]:
    return [(s.check_id, s.features, s.hits, s.deviations, s.presented) for s in scored]


@pytest.mark.parametrize(("size", "fresh"), [(1, False), (100, False), (100, True)])
def test_batched_in_place_folds_give_the_per_record_profiles_and_scores(size: int, fresh: bool) -> None:
    reference, direct = _reference()
    assert sum(len(s.deviations) for s in reference) > 0 and any(s.hits for s in reference)
    scored, profiles, sellers = _batched(size, fresh)
    assert _rows(scored) == _rows(reference)
    # the same profiles and statistics, dict order included (JSON in the order the dicts hold)
    assert {k: json.dumps(v) for k, v in profiles.items()} == {
        table_key(k, 0): json.dumps(v) for k, v in direct.profiles.items()
    }
    decoded = {k: json.dumps(seller_stats_codec.decode(v)) for k, v in sellers.items()}
    assert decoded == {k: json.dumps(v) for k, v in direct.sellers.items()}
    # the behaviour score of the batch, from the same deviations
    presented = [list(s.deviations) for s in reference if s.presented]
    model = behaviour_model.fit(np.asarray([behaviour.vector(d) for d in presented]))
    points = [weight(DEFAULT_RULES, behaviour_model.REASON)] * len(presented)
    ours = [list(s.deviations) for s in scored if s.presented]
    hits = behaviour_model.batch_hits(model, ours, points)
    assert hits == behaviour_model.batch_hits(model, presented, points) and any(hits)


def test_the_pure_folds_leave_their_input_as_it_was() -> None:
    replay = Replay()
    for event in _events()[:200]:
        replay.feed(event)
    for key, value in list(replay.profiles.items())[:20]:
        before = json.dumps(value)
        obs = pf.Observed(f"checked:x{key}", "checked", 2e9, total=123.0, party="p", items=("新",), org="o")
        folded = pf.fold(value, obs)
        population = pf.fold_population(value, obs, 1.0)
        assert json.dumps(value) == before and folded["n"] == value["n"] + 1
        assert len(population["recent"]) >= len(value["recent"]) and population is not value
    for seller, stats in list(replay.sellers.items())[:20]:
        before_stats = json.dumps(stats)
        at = datetime(2026, 6, 1, 2, tzinfo=UTC)
        activity = SellerActivity(
            seller_tax_id=seller,
            kind="issued",
            invoice_key="011002300111-99999999",
            invoice_number="99999999",
            buyer_tax_id="91110105MA02EFGH2Y",
            amount=Decimal("512.00"),
            issued_at=at,
            at=at,
        )
        folded_stats = seller_stats.fold_activity(stats, activity)
        assert json.dumps(stats) == before_stats
        assert folded_stats["issued"] == stats["issued"] + 1
