"""Behaviour scoring as the risk agent runs it (issue 20): the sped-up statistics give what the
reference formulas give, a batch's profile cache folds exactly as the table would and writes each
changed profile once, the profile codec round-trips, the behaviour model scores a batch as it scores
one check, and the model file is picked up (or its absence tolerated)."""

from __future__ import annotations

import itertools
import math
import random
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from fapiao.demo import DemoFeed
from fapiao.risk import behaviour, behaviour_model, profile_codec
from fapiao.risk import profiles as pf
from fapiao.risk.profile_cache import BatchProfiles, table_key
from fapiao.risk.replay import Replay
from fapiao.risk.rules import DEFAULT_RULES, weight


def _quantile_reference(values: list[float], q: float) -> float:
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def _robust_z_reference(values: list[float], x: float, floor: float) -> float:
    median = _quantile_reference(values, 0.5)
    mad = _quantile_reference([abs(v - median) for v in values], 0.5)
    return (x - median) / max(1.4826 * mad, floor)


def test_the_faster_statistics_equal_the_reference_formulas() -> None:
    rng = random.Random(7)
    for n in (1, 2, 3, 12, 48, 192):
        values = [rng.lognormvariate(6, 1.2) for _ in range(n)]
        for q in (0.0, 0.1, 0.5, 0.9, 0.99, 1.0):
            assert pf.quantile(values, q) == _quantile_reference(values, q)
            assert pf.quantile_sorted(sorted(values), q) == _quantile_reference(values, q)
        x = rng.lognormvariate(6, 2)
        assert pf.robust_z(values, x, 0.3) == _robust_z_reference(values, x, 0.3)
        assert pf.robust_z_sorted(sorted(values), x, 0.3) == _robust_z_reference(values, x, 0.3)
    totals = [rng.uniform(1, 6e7) for _ in range(20_000)]
    totals += [
        m * 10**k * f for k in range(2, 9) for m in (1, 2, 5) for f in (0.98, 0.979999, 0.99, 1.0, 1.001)
    ]
    for total in totals:
        assert pf.near_limit(total) == any(0.98 * limit <= total < limit for limit in pf.LIMITS), total


def _demo_batches(size: int) -> tuple[list[list[behaviour.Deviation]], dict[str, pf.Profile], int]:
    """Replay a small demo feed folding into BatchProfiles over a dict 'table', `size` events a batch,
    one partition: the deviations, the table at the end and how many table writes there were."""
    feed = DemoFeed(11, datetime(2026, 3, 1, tzinfo=UTC))
    events = feed.history(400, 300)
    replay = Replay()
    table: dict[str, pf.Profile] = {}
    writes = 0
    found: list[list[behaviour.Deviation]] = []
    real_issued, real_deviations, real_checked = (
        behaviour.observe_issued,
        behaviour.deviations,
        behaviour.observe_checked,
    )
    store = BatchProfiles(table.get, 3)
    for i, event in enumerate(events):
        # the replay calls behaviour.*(self.profiles, …): point it at the batch's cache
        replay.profiles = store  # type: ignore[assignment]
        for scored in replay.feed(event):
            if scored.presented:
                found.append(list(scored.deviations))
        if (i + 1) % size == 0 or i == len(events) - 1:
            for key, value in store.dirty():
                table[key] = value
                writes += 1
            store = BatchProfiles(table.get, 3)
    assert (real_issued, real_deviations, real_checked) == (
        behaviour.observe_issued,
        behaviour.deviations,
        behaviour.observe_checked,
    )
    return found, table, writes


def test_a_batch_cache_folds_and_compares_exactly_as_the_table_and_writes_each_profile_once() -> None:
    feed = DemoFeed(11, datetime(2026, 3, 1, tzinfo=UTC))
    direct = Replay()
    reference = [list(s.deviations) for e in feed.history(400, 300) for s in direct.feed(e) if s.presented]
    assert sum(map(len, reference)) > 0  # something deviates: the comparison can fail
    found_1, table_1, writes_1 = _demo_batches(1)
    found_100, table_100, writes_100 = _demo_batches(100)
    assert found_1 == reference and found_100 == reference
    assert table_1 == table_100
    assert {k.removesuffix("@3") for k in table_100} == set(direct.profiles)
    assert all(table_100[table_key(k, 3)] == v for k, v in direct.profiles.items())
    assert writes_100 < writes_1 / 2  # populations are written once per batch, not per event


def test_per_partition_keys() -> None:
    assert table_key("s|911", 2) == "s|911" and table_key("p|911|912", 2) == "p|911|912"
    assert table_key("*|issued", 2) == "*|issued@2" and table_key("b|912", 0) == "b|912@0"
    assert table_key("r|913", 11) == "r|913@11"
    store = BatchProfiles({"*|issued@1": pf.empty_profile()}.get, 1)
    assert store.get("*|issued") == pf.empty_profile() and store.get("s|x") is None
    assert store.dirty() == []


def test_the_profile_codec_round_trips_and_refuses_anything_else() -> None:
    _, table, _ = _demo_batches(500)
    for value in itertools.islice(table.values(), 50):
        data = profile_codec.encode(value)
        assert profile_codec.decode(data) == value and len(data) < 16_000
    older = {**pf.empty_profile(), "v": pf.PROFILE_VERSION - 1}
    assert profile_codec.decode(profile_codec.encode(older)) is None  # an older layout starts again
    for bad in (b"", b"\x07x", b"\x01garbage", profile_codec.encode({"v": 99})):  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            profile_codec.decode(bad)


def test_a_batch_is_scored_as_each_check_alone_with_the_org_points(tmp_path: Path) -> None:
    found, _, _ = _demo_batches(500)
    rows = np.asarray([behaviour.vector(devs) for devs in found])
    model = behaviour_model.fit(rows)
    points = weight(DEFAULT_RULES, behaviour_model.REASON)
    assert points == behaviour_model.DEFAULT_POINTS
    hits = behaviour_model.batch_hits(model, found, [points] * len(found))
    alone = [
        behaviour_model.hit(d, float(model.score(np.asarray(behaviour.vector(d)))[0]), points) for d in found
    ]
    assert hits == alone and any(h is not None for h in hits)
    assert behaviour_model.batch_hits(model, found, [0] * len(found)) == [None] * len(found)

    watcher = behaviour_model.Watcher(tmp_path)
    assert watcher.current() is None and not watcher.poll()  # no model: no behaviour hits
    behaviour_model.save(model, tmp_path / behaviour_model.FILE)
    assert watcher.poll() and watcher.current() == model and not watcher.poll()
    (tmp_path / behaviour_model.FILE).write_text("{broken")
    assert not watcher.poll() and watcher.current() == model  # a broken file keeps the model it had
