from __future__ import annotations

import time

from fapiao.accounts.roles import Identity
from services.api.key_cache import IdentityCache


def _identity(key_id: str) -> Identity:
    return Identity("org", key_id, "api_key", frozenset(), frozenset({"submit"}), None)


def test_a_key_is_remembered_for_its_ttl_then_looked_up_again() -> None:
    cache = IdentityCache(ttl=0.05)
    cache.put("fsk_a_secret", _identity("a"))
    assert cache.get("fsk_a_secret") == _identity("a")
    assert cache.get("fsk_a_other") is None
    time.sleep(0.06)
    assert cache.get("fsk_a_secret") is None


def test_revocation_drops_the_key_and_a_zero_ttl_disables_the_cache() -> None:
    cache = IdentityCache(ttl=60)
    cache.put("fsk_a_1", _identity("a"))
    cache.put("fsk_b_1", _identity("b"))
    cache.forget_key("a")
    assert cache.get("fsk_a_1") is None and cache.get("fsk_b_1") is not None
    off = IdentityCache(ttl=0)
    off.put("fsk_a_1", _identity("a"))
    assert off.get("fsk_a_1") is None


def test_capacity_is_bounded_and_no_secret_is_held() -> None:
    cache = IdentityCache(ttl=60, capacity=2)
    for i in range(3):
        cache.put(f"fsk_{i}_secret", _identity(str(i)))
    assert cache.get("fsk_0_secret") is None and cache.get("fsk_2_secret") is not None
    assert all("secret" not in k for k in cache._entries)
