"""Computing rollup unit figures ahead (fapiao.warehouse.count_warmer), on any ClickHouse engine.

Run on current ClickHouse (chdb, tests/unit/test_analytics_chdb.py) and on the 18.16 server
(tests/integration/test_analytics_server.py).
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from fapiao.analytics.catalog import Bucket, Dimension
from fapiao.analytics.trends import TrendQuery
from fapiao.warehouse import migrations
from fapiao.warehouse.count_warmer import DIMENSIONS, active_organisations, slices, warm_counts
from fapiao.warehouse.engine import Engine
from fapiao.warehouse.trends import fetch_trend, stale_units
from tests.analytics_data import at, insert_results, result

ORG = "warm-org"
TODAY = date(2026, 11, 28)


def check_warmed_counts_make_first_trends_read_only_counts(engine: Engine) -> None:
    migrations.migrate(engine)
    first = result(uuid.uuid4(), "consistent", at(3), org_id=ORG, total="10.00")
    rows = [
        first,
        first,  # redelivered: counted once
        result(uuid.uuid4(), "inconsistent", at(20, 9), org_id=ORG),
        result(uuid.uuid4(), "consistent", at(27, 1), org_id=ORG, number="26322000000000000009", code=""),
    ]
    insert_results(engine, rows)
    queries = [TrendQuery(date(2026, 10, 29), TODAY, Bucket.WEEK, d) for d in DIMENSIONS]
    queries.append(TrendQuery(date(2026, 10, 30), TODAY, Bucket.DAY, Dimension.SELLER, top=1))  # 30 days
    assert all(stale_units(engine, ORG, q) for q in queries)  # nothing computed yet: a first call would
    assert ORG in active_organisations(engine, date(2026, 11, 1))
    done = warm_counts(engine, TODAY, 60, [ORG])
    assert done.organisations == 1 and done.slices == len(slices(TODAY, 60)) == 2
    assert [stale_units(engine, ORG, q) for q in queries] == [[]] * len(queries)
    total = fetch_trend(engine, ORG, queries[0]).series[0].current
    assert (total.checks, total.consistent, total.inconsistent, total.amount) == (3, 2, 1, Decimal("123.00"))
    # a new check in a computed hour: that unit is computed again (exact), until the next pass
    insert_results(engine, [result(uuid.uuid4(), "consistent", at(20, 9), org_id=ORG)])
    assert stale_units(engine, ORG, queries[0]) == ["2026-11-20 09:00:00"]
    assert stale_units(engine, ORG, queries[1]) == ["2026-11-20"]  # the region rollup's Shanghai day
    assert fetch_trend(engine, ORG, queries[0]).series[0].current.checks == 4
    warm_counts(engine, TODAY, 60)  # every active organisation
    assert [stale_units(engine, ORG, q) for q in queries] == [[]] * len(queries)
