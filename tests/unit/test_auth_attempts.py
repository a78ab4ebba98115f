"""The attempt limits in the accounts store (fapiao/accounts/attempts.py) on a SQLite file, as two API
processes share it: two `SharedBuckets` over two engines of one file are one limit; an unknown email's
lock holds for every context; and how API keys see members (services/api/people.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from fapiao.accounts.attempts import SharedBuckets, SharedStrangerLockout
from fapiao.accounts.db import make_engine, migrate, session_factory
from fapiao.accounts.lockout import LockoutPolicy
from services.api.people import member_ref, people_for
from services.api.principal import Principal


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def engines(tmp_path: Path) -> tuple[Engine, Engine]:
    url = f"sqlite:///{tmp_path}/accounts.db"
    first = make_engine(url)
    migrate(first)
    return first, make_engine(url)


def test_two_processes_share_one_bucket_that_refills_evenly(engines: tuple[Engine, Engine]) -> None:
    clock = Clock()
    a, b = (SharedBuckets(e, clock=clock) for e in engines)
    assert [(a, b)[i % 2].take("ip:1.2.3.4", 3) for i in range(3)] == [0.0, 0.0, 0.0]
    assert b.take("ip:1.2.3.4", 3) == pytest.approx(20.0)  # 3 a minute: one every 20 s, on either
    assert a.take("ip:1.2.3.4", 3) == pytest.approx(20.0)  # a refused take spends nothing
    assert a.take("ip:5.6.7.8", 3) == 0.0  # per bucket
    clock.now += 20.0
    assert a.take("ip:1.2.3.4", 3) == 0.0
    assert b.take("ip:1.2.3.4", 3) > 0
    clock.now += 3600.0  # idle: full again, never more than the capacity
    assert [b.take("ip:1.2.3.4", 3) for _ in range(4)][-1] == pytest.approx(20.0)


def test_an_unknown_emails_lock_holds_in_every_process(engines: tuple[Engine, Engine]) -> None:
    policy, now = LockoutPolicy(), datetime(2026, 12, 7, 12, tzinfo=UTC)
    sessions = [session_factory(e) for e in engines]
    locks = [SharedStrangerLockout(policy, b"k" * 32) for _ in engines]
    for n in range(policy.threshold):
        with sessions[n % 2].begin() as s:
            assert locks[n % 2].retry_after(s, "Nobody@Example.com", now) == 0
            locks[n % 2].failed(s, "nobody@example.com ", now)
    with sessions[1].begin() as s:
        assert locks[1].retry_after(s, "nobody@example.com", now) == policy.base_seconds
        assert locks[1].retry_after(s, "other@example.com", now) == 0
        later = now + timedelta(seconds=policy.base_seconds)
        assert locks[1].retry_after(s, "nobody@example.com", later) == 0


def test_api_keys_see_member_references_users_see_ids() -> None:
    key, user_id = b"h" * 32, "0123456789abcdef0123456789abcdef"
    ref = member_ref(user_id, key)
    assert ref.startswith("member-") and len(ref) == 19 and user_id not in ref
    assert ref == member_ref(user_id, key) != member_ref("f" * 32, key) != member_ref(user_id, b"x" * 32)
    user = Principal("org-1", user_id, "user")
    api_key = Principal("org-1", "k1", "api_key", scopes=frozenset({"read"}))
    assert people_for(user, key)(user_id) == user_id
    assert people_for(api_key, key)(user_id) == ref
    assert people_for(api_key, key)(None) is None and people_for(api_key, key)("") == ""
