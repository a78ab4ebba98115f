"""Every figure a dashboard or report shows is exact under redelivery and result versions (issue 15).

The same batch of results is inserted four times (as the sink does after kill -9: at least once, and
every materialized view fires again per inserted block), with trends read in between so that units
are computed at intermediate fingerprints; then newer versions of some checks arrive (a pending
check resolved, a 一致 check voided, a refresh answered 一致 again), twice. Every trend (total,
verdict, region, type, seller, requester, by hour and by day), ranking, the riskiest sellers and the
BI views must count each check once at its newest result — while the rollups' own row counts grow
with every copy (what the dashboards read before migration 016). Run on current ClickHouse (chdb,
tests/unit/test_analytics_chdb.py) and on the 18.16 server (tests/integration/test_analytics_server.py).
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from functools import partial
from typing import Any

from fapiao.analytics.catalog import Bucket, Dimension
from fapiao.analytics.trends import TrendQuery
from fapiao.warehouse import migrations
from fapiao.warehouse.count_warmer import warm_counts
from fapiao.warehouse.engine import Engine
from fapiao.warehouse.period_report import risky_sellers
from fapiao.warehouse.trends import fetch_trend
from tests.analytics_data import OTHER_SELLER, SELLER, at, insert_results, ref, requester_ref, scalar
from tests.analytics_data import result as one_result

ORG = "redelivered"
PERIOD = (date(2026, 11, 22), date(2026, 11, 28))
DIMENSIONS = (
    None,
    Dimension.VERDICT,
    Dimension.REGION,
    Dimension.TYPE,
    Dimension.SELLER,
    Dimension.REQUESTER,
)


def figures(engine: Engine) -> dict[str, Any]:
    """Everything shown: per trend and bucket, each series' current (checks, 一致, 不一致, amount),
    the rankings (top 1), the riskiest sellers and the BI views' sums."""
    out: dict[str, Any] = {}
    for dim in DIMENSIONS:
        for bucket in (Bucket.HOUR, Bucket.DAY, Bucket.MONTH):
            trend = fetch_trend(engine, ORG, TrendQuery(*PERIOD, bucket=bucket, dimension=dim))
            out[f"{dim}/{bucket}"] = {
                s.key: (s.current.checks, s.current.consistent, s.current.inconsistent, s.current.amount)
                for s in trend.series
                if s.current.checks
            }
    for dim in (Dimension.SELLER, Dimension.REQUESTER):
        top = fetch_trend(engine, ORG, TrendQuery(*PERIOD, dimension=dim, top=1))
        out[f"top {dim}"] = [s.key for s in top.series]
    out["risky"] = [(s.tax_id, s.checks, s.risky) for s in risky_sellers(engine, ORG, TrendQuery(*PERIOD))]
    warm_counts(engine, PERIOD[1], 7, [ORG])
    for view in ("bi_checks_hourly", "bi_checks_daily", "bi_sellers_daily", "bi_requesters_daily"):
        rows = engine.execute(
            f"SELECT vkey, sum(checks), toString(sum(amount)) FROM {view} WHERE org_id = %(org)s "
            "GROUP BY vkey",
            {"org": ORG},
        )
        out[view] = {str(v): (int(n), Decimal(a)) for v, n, a in rows}
    return out


def check_figures_survive_redeliveries_and_versions(engine: Engine) -> None:
    migrations.migrate(engine)
    k = {name: uuid.uuid4() for name in ("k1", "k2", "k3", "k4", "k5", "k6")}
    result = partial(one_result, org_id=ORG)
    batch = [
        result(k["k1"], "consistent", at(25, 3), number="11000001", total="113.00"),
        result(k["k2"], "consistent", at(25, 3), number="11000002", total="226.00", requester="bob"),
        result(k["k3"], "pending_sync", at(25, 4), number="11000003"),
        result(k["k4"], "inconsistent", at(25, 4), number="11000004"),
        result(
            k["k5"],
            "consistent",
            at(26, 5),
            number="11000005",
            total="50.00",
            seller=OTHER_SELLER,
            requester="bob",
        ),
        result(k["k6"], "voided", at(26, 5), number="11000006", total="70.00", seller=OTHER_SELLER),
    ]
    insert_results(engine, batch)
    once = figures(engine)
    total = once["None/day"]["all"]
    assert total == (6, 3, 1, Decimal("389.00"))  # 113 + 226 + 50
    for copy in range(3):  # redelivered three times, figures read in between
        insert_results(engine, batch)
        assert figures(engine) == once, f"after redelivery {copy + 1}"
    rows = scalar(
        engine,
        "SELECT countMerge(results) FROM checks_hourly WHERE org_id = %(o)s AND vkey = '*'",
        {"o": ORG},
    )
    assert int(rows) == 24  # what the rollups count: every copy

    newer = [
        result(k["k3"], "consistent", at(25, 4), version=2, number="11000003", total="300.00"),
        result(k["k1"], "voided", at(25, 3), version=2, number="11000001", total="113.00"),
        result(
            k["k5"],
            "consistent",
            at(26, 5),
            version=2,
            number="11000005",
            total="50.00",
            seller=OTHER_SELLER,
            requester="bob",
        ),
    ]
    insert_results(engine, newer)
    after = figures(engine)
    insert_results(engine, newer)  # and redelivered
    assert figures(engine) == after
    # newest: k1 作废, k2 一致, k3 一致, k4 不一致, k5 一致, k6 作废
    for bucket in ("hour", "day", "month"):
        assert after[f"None/{bucket}"] == {"all": (6, 3, 1, Decimal("576.00"))}, bucket  # 226 + 300 + 50
    verdicts = {v: n for v, (n, *_) in after["verdict/day"].items()}
    assert verdicts == {"consistent": 3, "voided": 2, "inconsistent": 1}
    assert after["region/day"] == {"1100": (6, 3, 1, Decimal("576.00"))}
    assert after["type/day"] == after["type/hour"] == {"10": (6, 3, 1, Decimal("576.00"))}
    sellers = {ref(SELLER): (3, 2, 0, Decimal("526.00")), ref(OTHER_SELLER): (2, 1, 0, Decimal("50.00"))}
    assert after["seller/day"] == after["seller/hour"] == sellers  # k4 (不一致) names no seller
    requesters = {
        requester_ref("alice"): (4, 1, 1, Decimal("300.00")),
        requester_ref("bob"): (2, 2, 0, Decimal("276.00")),
    }
    assert after["requester/day"] == after["requester/month"] == requesters
    assert after["top seller"] == [ref(SELLER)] and after["top requester"] == [requester_ref("alice")]
    # a problem each; OTHER_SELLER's share (1 of 2) is the higher
    assert after["risky"] == [(ref(OTHER_SELLER), 2, 1), (ref(SELLER), 3, 1)]
    assert after["bi_checks_hourly"]["*"] == (6, Decimal("759.00"))  # 113 + 226 + 300 + 0 + 50 + 70
    assert after["bi_checks_hourly"]["consistent"] == (3, Decimal("576.00"))
    assert after["bi_checks_daily"]["*"] == (12, Decimal("1518.00"))  # region and type
    assert after["bi_sellers_daily"]["*"] == (5, Decimal("759.00")) and after["bi_sellers_daily"]["!"][0] == 2
    assert after["bi_requesters_daily"]["*"] == (6, Decimal("759.00"))
