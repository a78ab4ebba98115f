"""The history through the lookup tables: invoice number (migration 011), seller and buyer (012).

Run on current ClickHouse (chdb, tests/unit/test_analytics_chdb.py) and on the 18.16 server
(tests/integration/test_analytics_server.py). The lookups only narrow: every answer must equal what
the plain FINAL read gives, under redeliveries, newer result versions and a party that changed.
"""

from __future__ import annotations

import shutil
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path
from unittest import mock

from fapiao.analytics.filters import CheckFilters, time_range
from fapiao.analytics.history import HistoryQuery, Order, SortKey
from fapiao.analytics.lookups import choose
from fapiao.warehouse import migrations
from fapiao.warehouse.engine import Engine
from fapiao.warehouse.history import iterate
from fapiao.warehouse.party_names import sealed_filters
from tests.analytics_data import BUYER, OTHER_SELLER, SEALER, SELLER, at, insert_results, result

ORG = "lookups"
TODAY = date(2026, 11, 28)
NUMBER = "55555555"


def _ids(engine: Engine, query: HistoryQuery, org: str = ORG) -> list[str]:
    return [item["check_id"] for page in iterate(engine, org, query, TODAY, 1000) for item in page]


def _sealed(engine: Engine, **filters: object) -> CheckFilters:
    """Filters as the API passes them: seller/buyer resolved to pseudonyms (migration 010)."""
    wanted = CheckFilters(**filters)  # type: ignore[arg-type]
    return sealed_filters(engine, ORG, wanted, time_range(wanted, TODAY), SEALER)


def _without_lookups(engine: Engine, query: HistoryQuery) -> list[str]:
    with mock.patch("fapiao.warehouse.history.lookups.choose", return_value=None):
        return _ids(engine, query)


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


def check_party_lookup_narrows_but_never_decides(engine: Engine, ids: dict[str, str]) -> None:
    other = _sealed(engine, seller=OTHER_SELLER.tax_id)
    assert choose(other) is not None
    # s1: the seller only in its newer result; s2: the seller only in its OLDER result -> not listed
    assert _ids(engine, HistoryQuery(other, limit=1)) == [ids["s1"]]
    assert _ids(engine, HistoryQuery(other, sort=SortKey.ISSUE_DATE, limit=1)) == [ids["s1"]]
    mine = _ids(engine, HistoryQuery(_sealed(engine, seller=SELLER.tax_id), limit=2))
    assert mine == [ids["s2"], *(ids[f"n{i}"] for i in range(7, 0, -1))]
    by_name = _sealed(engine, seller="海淀")  # a part of a name: the matching sellers' pseudonyms
    assert choose(by_name) is not None and _ids(engine, HistoryQuery(by_name, limit=50)) == mine
    buyer = _sealed(engine, buyer=BUYER.tax_id, verdicts=("consistent",))
    assert _ids(engine, HistoryQuery(buyer, limit=3)) == [
        ids["s2"], ids["s1"], *(ids[f"n{i}"] for i in (7, 6, 5, 4, 3, 1))
    ]  # fmt: skip
    assert _ids(engine, HistoryQuery(_sealed(engine, seller="无此公司"))) == []


def check_lookups_answer_like_the_plain_read(engine: Engine, ids: dict[str, str]) -> None:
    cases = [
        _sealed(engine, invoice_number=NUMBER, verdicts=("consistent",)),
        _sealed(engine, invoice_number=NUMBER, seller=SELLER.tax_id, date_from=date(2026, 11, 20)),
        _sealed(engine, seller=SELLER.tax_id, amount_min=Decimal("100")),
        _sealed(engine, seller=OTHER_SELLER.tax_id, verdicts=("consistent", "voided")),
        _sealed(engine, buyer="朝阳", date_to=date(2026, 11, 21)),
    ]
    for filters in cases:
        assert choose(filters) is not None
        for sort in SortKey:
            for order in Order:
                for size in (1, 3):
                    query = HistoryQuery(filters, sort, order, size)
                    got, plain = _ids(engine, query), _without_lookups(engine, query)
                    assert got == plain, (got, plain, filters, sort, order, size)


CHECKS = (
    check_number_lookup_pages_like_the_plain_read,
    check_party_lookup_narrows_but_never_decides,
    check_lookups_answer_like_the_plain_read,
)


def check_migration_backfills_older_rows(engine: Engine, tmp: Path) -> None:
    """Rows stored before migrations 011 and 012 are found through the lookups after them."""
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
    assert _ids(engine, HistoryQuery(_sealed(engine, seller=SELLER.tax_id))) == [str(check)]
    assert _ids(engine, HistoryQuery(_sealed(engine, buyer=BUYER.tax_id))) == [str(check)]
