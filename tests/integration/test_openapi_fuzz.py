"""A bounded schemathesis run against the live API's OpenAPI spec: generated requests to every operation,
with an API key of every scope, with an admin's session and without credentials, never get a 5xx (8
examples per operation). The key and the session are not throttled (rate limit 100,000/min; the session
API's login limits are off), so every request reaches its route."""

from __future__ import annotations

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.integration.conftest import register_org

# The live alert stream never ends. Uploads (batches, documents) and risk-rule writes are fuzzed too:
# what they make belongs to the fuzz organisation only (an organisation's rules are its own, issue 16
# item 1), so no other test sees it.
# Known 5xx, open bugs: drop each entry once fixed (dates before 1970 reaching ClickHouse, once here for
# /v1/history and /v1/analytics, are refused with 422 now: test_analytics_api.py).
KNOWN_5XX: tuple[str, ...] = ()
SKIP: tuple[tuple[str, str], ...] = (
    ("GET", "/v1/alerts/stream"),
    ("POST", "/v1/auth/logout"),  # would end the admin session the rest of the run uses
    *((method, path) for path in KNOWN_5XX for method in ("GET", "POST", "PUT", "PATCH", "DELETE")),
)
EXAMPLES = 8


def test_no_operation_answers_5xx(api_url: str) -> None:
    org = register_org(api_url, "模糊测试 Fuzz Co.", rate_per_minute=100_000)
    schema = schemathesis.openapi.from_url(f"{api_url}/openapi.json")
    seen = 0
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if any(operation.method.upper() == m and operation.path.startswith(p) for m, p in SKIP):
            continue
        seen += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def fuzz(case) -> None:  # type: ignore[no-untyped-def]
            for auth in (org.headers, org.admin, {}):
                response = case.call(base_url=api_url, headers=auth, timeout=15)
                assert response.status_code < 500, (
                    f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}"
                )

        try:
            fuzz()
        except AssertionError as exc:  # go on: one run names every operation that fails
            failures.append(str(exc).splitlines()[0])
    assert not failures, "\n".join(failures)
    print(f"{seen} operations fuzzed")  # -s shows it
    assert seen >= 60
    assert httpx.get(f"{api_url}/healthz", timeout=5).status_code == 200
