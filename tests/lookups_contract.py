"""The history through the lookup tables (migration 011): the invoice number.

Run on current ClickHouse (chdb, tests/unit/test_analytics_chdb.py) and on the 18.16 server
(tests/integration/test_analytics_server.py). The lookups only narrow: every answer must equal what
the plain FINAL read gives, under redeliveries and newer result versions.
"""

from __future__ import annotations

import shutil
import uuid
from datetime import date
from pathlib import Path

from fapiao.analytics.filters import CheckFilters
from fapiao.analytics.history import HistoryQuery, Order, SortKey
from fapiao.analytics.lookups import choose
from fapiao.warehouse import migrations
from fapiao.warehouse.engine import Engine
from fapiao.warehouse.history import iterate
from tests.analytics_data import OTHER_SELLER, SELLER, at, insert_results, result

ORG = "lookups"
TODAY = date(2026, 11, 28)
NUMBER = "55555555"


def _ids(engine: Engine, query: HistoryQuery, org: str = ORG) -> list[str]:
    return [item["check_id"] for page in iterate(engine, org, query, TODAY, 1000) for item in page]


def _rows(engine: Engine, query: HistoryQuery) -> list[tuple[str, int, str]]:
    pages = iterate(engine, ORG, query, TODAY, 1000)
    return [(i["check_id"], i["result_version"], i["verdict"]) for page in pages for i in page]


def load(engine: Engine) -> dict[str, str]:
    """One invoice number checked seven times (redelivered, re-versioned), and checks whose seller
    appears only in a later result or changed between results. Returns name -> check id."""
    migrations.migrate(engine)
    ids = {f"n{i}": uuid.uuid4() for i in range(1, 8)} | {"s1": uuid.uuid4(), "s2": uuid.uuid4()}
    rows = [result(ids[f"n{i}"], "consistent", at(20, i), number=NUMBER, org_id=ORG) for i in range(1, 8)]
    rows += [
        rows[0],  # n1 redelivered
        result(ids["n2"], "voided", at(20, 2), version=2, number=NUMBER, org_id=ORG),
        result(ids["s1"], "pending_sync", at(21), number="66666661", org_id=ORG),
        result(
            ids["s1"], "consistent", at(21), version=2, number="66666661", org_id=ORG, seller=OTHER_SELLER
        ),
        result(ids["s2"], "consistent", at(22), number="66666662", org_id=ORG, seller=OTHER_SELLER),
        result(ids["s2"], "consistent", at(22), version=2, number="66666662", org_id=ORG, seller=SELLER),
        result(uuid.uuid4(), "consistent", at(20, 9), number=NUMBER, org_id="lookups-rival"),
    ]
    insert_results(engine, rows[:5])
    insert_results(engine, rows[5:])  # several parts, so FINAL and GROUP BY have work to do
    return {k: str(v) for k, v in ids.items()}


def check_number_lookup_pages_like_the_plain_read(engine: Engine, ids: dict[str, str]) -> None:
    by_number = CheckFilters(invoice_number=NUMBER)
    assert choose(by_number) is not None
    newest_first = [ids[f"n{i}"] for i in range(7, 0, -1)]
    for size in (1, 2, 3, 50):
        assert _ids(engine, HistoryQuery(by_number, limit=size)) == newest_first
        assert _ids(engine, HistoryQuery(by_number, order=Order.ASC, limit=size)) == newest_first[::-1]
    rows = dict((c, (v, verdict)) for c, v, verdict in _rows(engine, HistoryQuery(by_number)))
    assert rows[ids["n2"]] == (2, "voided") and rows[ids["n1"]] == (1, "consistent")
    voided = CheckFilters(invoice_number=NUMBER, verdicts=("voided",))
    assert _ids(engine, HistoryQuery(voided, limit=1)) == [ids["n2"]]  # candidates skipped, chunks grow
    with_code = CheckFilters(invoice_number=NUMBER, invoice_code="011002300111", date_to=date(2026, 11, 20))
    assert len(_ids(engine, HistoryQuery(with_code, limit=4))) == 7
    assert _ids(engine, HistoryQuery(CheckFilters(invoice_number=NUMBER, invoice_code="011002300112"))) == []
    assert _ids(engine, HistoryQuery(CheckFilters(invoice_number=NUMBER, date_from=date(2026, 11, 21)))) == []
    by_total = HistoryQuery(by_number, sort=SortKey.TOTAL, order=Order.ASC, limit=2)
    assert sorted(_ids(engine, by_total)) == sorted(newest_first)
    assert len(_ids(engine, HistoryQuery(by_number), org="lookups-rival")) == 1


CHECKS = (check_number_lookup_pages_like_the_plain_read,)


def check_migration_backfills_older_rows(engine: Engine, tmp: Path) -> None:
    """Rows stored before migration 011 are found through the lookups after it."""
    older = tmp / "older"
    older.mkdir()
    for path in migrations.DEFAULT_DIR.glob("*.sql"):
        if int(path.name[:3]) < 11:
            shutil.copy(path, older / path.name)
    migrations.migrate(engine, older)
    check = uuid.uuid4()
    insert_results(engine, [result(check, "consistent", at(19), number="77777777", org_id=ORG)])
    migrations.migrate(engine)
    assert _ids(engine, HistoryQuery(CheckFilters(invoice_number="77777777"))) == [str(check)]
