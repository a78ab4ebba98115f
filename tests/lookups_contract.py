"""The history through the lookup tables: invoice number (migration 011), seller and buyer (013).

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
from typing import Any
from unittest import mock

from fapiao.analytics.filters import CheckFilters, time_range
from fapiao.analytics.history import (
    Cursor,
    HistoryQuery,
    Order,
    SortKey,
    cursor_after,
    page_sql,
    parse_row,
)
from fapiao.analytics.lookups import choose
from fapiao.warehouse import migrations
from fapiao.warehouse.engine import Engine
from fapiao.warehouse.history import HistoryPage, fetch_page, iterate
from fapiao.warehouse.party_names import sealed_filters
from schemas.events import Party
from tests.analytics_data import BUYER, OTHER_SELLER, SEALER, SELLER, at, insert_results, result

ORG = "lookups"
PARTIES = "lookups-parties"  # checks whose seller or result version changes (check_party_rows, 013)
TODAY = date(2026, 11, 28)
NUMBER = "55555555"


def _ids(engine: Engine, query: HistoryQuery, org: str = ORG) -> list[str]:
    return [item["check_id"] for page in iterate(engine, org, query, TODAY, 1000) for item in page]


def _sealed(engine: Engine, org: str = ORG, **filters: object) -> CheckFilters:
    """Filters as the API passes them: seller/buyer resolved to pseudonyms (migration 010)."""
    wanted = CheckFilters(**filters)  # type: ignore[arg-type]
    return sealed_filters(engine, org, wanted, time_range(wanted, TODAY), SEALER)


def _without_lookups(engine: Engine, query: HistoryQuery) -> list[str]:
    with mock.patch("fapiao.warehouse.history.lookups.choose", return_value=None):
        return _ids(engine, query)


def _pages(engine: Engine, query: HistoryQuery, org: str) -> list[Any]:
    """Every page as the API serves it: rows and next cursors."""
    cursor, pages = None, []
    while len(pages) < 100:
        page = fetch_page(engine, org, query, cursor, TODAY)
        pages.append(page)
        if page.next_cursor is None:
            break
        cursor = Cursor.decode(page.next_cursor, query.fingerprint())
    return pages


def _plain_pages(engine: Engine, query: HistoryQuery, org: str, rows: list[Any] | None = None) -> list[Any]:
    """The same pages by the definition: the whole range read once, FINAL and ordered (`_plain_read`),
    cut into pages of `query.limit`, each but the last with the cursor after its last row. `rows`: that
    read, when the caller already has it (one read serves every page size)."""
    rows = _plain_read(engine, query, org) if rows is None else rows
    pages = []
    for start in range(0, max(len(rows), 1), query.limit):
        items = rows[start : start + query.limit]
        more = start + query.limit < len(rows)
        pages.append(HistoryPage(items, cursor_after(query, items[-1]).encode() if more else None))
    return pages[:100]


def _plain_read(engine: Engine, query: HistoryQuery, org: str) -> list[Any]:
    """Every row of the query's range, newest result per check, in the query's order (page_sql)."""
    span = time_range(query.filters, TODAY)
    return [parse_row(r) for r in engine.execute(*page_sql(org, query, span, None, 10_000))]


def _rows(engine: Engine, query: HistoryQuery) -> list[tuple[str, int, str]]:
    pages = iterate(engine, ORG, query, TODAY, 1000)
    return [(i["check_id"], i["result_version"], i["verdict"]) for page in pages for i in page]


def load(engine: Engine) -> dict[str, str]:
    """One invoice number checked seven times (redelivered, re-versioned), and checks whose seller
    appears only in a later result or changed between results; in organisation PARTIES, the cases
    of check_party_rows (`_party_results`). Returns name -> check id."""
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
    return {k: str(v) for k, v in ids.items()} | _party_results(engine)


def _party_results(engine: Engine) -> dict[str, str]:
    """Checks of organisation PARTIES in four inserts (parts), covering what check_party_rows must
    get right. p1: re-versioned (一致 then 作废), v2 redelivered. p2: the seller's 一致, then a 不一致
    result naming no seller. p3: OTHER_SELLER, SELLER, then OTHER_SELLER again, totals changing.
    p4: pending_sync then SELLER, redelivered. p5, p6: the same request time and total. p7: SELLER
    then OTHER_SELLER at the same total (rows of one check under two pseudonyms at one position).
    p8: OTHER_SELLER then SELLER, its first result redelivered after the second. p9..p14: plain.
    p15, p16 (the newest and the oldest): three results of SELLER at one position of every sort.
    p17, p18 (the most and the least 价税合计): twelve results, each naming another seller (all
    "有限公司"), so pages are cut inside the rows of one check; p19 (the newest): twelve results
    of one of them (refreshed), each inserted alone: current ClickHouse collapses the rows of one
    insert. Merges are stopped: FINAL, not a merge that happened to run, must collapse the rows."""
    for table in ("check_results", "check_party_rows"):
        engine.execute(f"SYSTEM STOP MERGES {table}")
    ids = {f"p{i}": uuid.uuid4() for i in range(1, 20)}

    def one(name: str, verdict: str, day: int, version: int = 1, **kw: Any) -> Any:
        hour = int(name[1:]) % 24
        return result(ids[name], verdict, at(day, hour), version=version, org_id=PARTIES, **kw)

    first = [
        one("p1", "consistent", 23),
        one("p2", "consistent", 23, total="900.00"),
        one("p3", "consistent", 23, total="50.00", seller=OTHER_SELLER),
        one("p4", "pending_sync", 23),
        one("p7", "consistent", 22, total="5000.00"),
        one("p8", "consistent", 22, total="70.00", seller=OTHER_SELLER),
        *(one(f"p{i}", "consistent", 21 + i % 3, total=f"{i * 37 % 11 * 100}.00") for i in range(9, 15)),
        one("p15", "consistent", 24),
        one("p16", "consistent", 20),
    ]
    same_time = at(23, 5)
    second = [
        one("p1", "voided", 23, version=2),
        one("p2", "inconsistent", 23, version=2),
        one("p3", "consistent", 23, version=2, total="700.00"),
        one("p4", "consistent", 23, version=2, total="300.00"),
        result(ids["p5"], "consistent", same_time, org_id=PARTIES, total="113.00"),
        result(ids["p6"], "consistent", same_time, org_id=PARTIES, total="113.00"),
        one("p7", "consistent", 22, version=2, total="5000.00", seller=OTHER_SELLER),
        one("p8", "consistent", 22, version=2, total="80.00"),
        one("p15", "voided", 24, version=2),
        one("p16", "voided", 20, version=2),
    ]
    third = [
        one("p1", "voided", 23, version=2),
        one("p3", "consistent", 23, version=3, total="10.00", seller=OTHER_SELLER),
        one("p4", "consistent", 23, version=2, total="300.00"),
        one("p15", "red_flushed_full", 24, version=3),
        one("p16", "red_flushed_full", 20, version=3),
    ]
    late = [first[5], one("p9", "consistent", 21 + 9 % 3, total=f"{9 * 37 % 11 * 100}.00")]
    sellers = [Party(name=f"示例{i}号贸易有限公司", tax_id=f"91110000MA{i:08d}") for i in range(1, 13)]
    many = [
        one(name, "consistent", day, version=v, total=total, seller=seller)
        for name, day, total in (("p17", 25, "9000.00"), ("p18", 19, "1.00"))
        for v, seller in enumerate(sellers, 1)
    ]
    refreshed = [[one("p19", "consistent", 26, version=v, seller=sellers[0])] for v in range(1, 13)]
    for rows in (first, second, third, late, many[::2], many[1::2], *refreshed):
        insert_results(engine, rows)
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


def check_pages_equal_the_plain_read(engine: Engine, ids: dict[str, str]) -> None:
    """Pages through check_party_rows (a seller or buyer), and pages of the other sorts (candidate
    rows, kept when newest, read by key), equal one FINAL read's, whole rows and cursors, whatever
    changed between a check's results (`_party_results`)."""

    def sealed(**filters: object) -> CheckFilters:
        return _sealed(engine, PARTIES, **filters)

    mine = sealed(seller=SELLER.tax_id)
    expected = {"p1", "p4", "p5", "p6", "p8", *(f"p{i}" for i in range(9, 17))}
    assert sorted(_ids(engine, HistoryQuery(mine), PARTIES)) == sorted(ids[n] for n in expected)
    assert _ids(engine, HistoryQuery(sealed(seller=OTHER_SELLER.tax_id)), PARTIES) == [ids["p3"], ids["p7"]]
    by_party = [
        mine,
        sealed(seller=OTHER_SELLER.tax_id),
        sealed(seller="有限公司"),  # both sellers' pseudonyms: p3, p7, p8 have rows under both
        sealed(seller="有限公司", verdicts=("consistent",)),
        sealed(seller=SELLER.tax_id, verdicts=("voided",)),
        sealed(seller=SELLER.tax_id, amount_min=Decimal("100"), amount_max=Decimal("800")),
        sealed(seller=SELLER.tax_id, date_from=date(2026, 11, 23)),
        sealed(buyer=BUYER.tax_id),
        sealed(buyer=BUYER.tax_id, seller=OTHER_SELLER.tax_id),
    ]
    others = [  # no lookup: time-sorted pages read windows, the other sorts candidate rows
        CheckFilters(),
        CheckFilters(verdicts=("consistent", "inconsistent")),
        CheckFilters(amount_max=Decimal("300"), date_to=date(2026, 11, 23)),
    ]
    for filters in by_party + others:
        lookup = choose(filters)
        assert (lookup is not None and lookup.covers) == (filters in by_party)
        for sort in SortKey:
            for order in Order:
                rows = _plain_read(engine, HistoryQuery(filters, sort, order), PARTIES)
                for size in (1, 50):
                    query = HistoryQuery(filters, sort, order, size)
                    got, plain = _pages(engine, query, PARTIES), _plain_pages(engine, query, PARTIES, rows)
                    assert got == plain, (filters, sort, order, size)


def check_export_pages_fit_the_query_size(engine: Engine, ids: dict[str, str]) -> None:
    """Pages of 2,000 rows (exports) equal the plain read: the literal lists of check ids and
    party-row keys are split to stay under ClickHouse's max_query_size (256 KiB)."""
    org = "lookups-export"
    checks = [uuid.uuid4() for _ in range(2100)]
    rows = [
        result(c, "consistent", at(1 + i % 27, i % 24), org_id=org, total=f"{i % 500 + 1}.00", seller=SELLER)
        for i, c in enumerate(checks)
    ]
    insert_results(engine, rows)
    for filters in (CheckFilters(), _sealed(engine, org, seller=SELLER.tax_id)):
        for sort in (SortKey.TOTAL, SortKey.REQUESTED_AT):
            query = HistoryQuery(filters, sort, Order.DESC, 2000)
            assert _pages(engine, query, org) == _plain_pages(engine, query, org)


CHECKS = (
    check_number_lookup_pages_like_the_plain_read,
    check_party_lookup_narrows_but_never_decides,
    check_lookups_answer_like_the_plain_read,
    check_pages_equal_the_plain_read,
    check_export_pages_fit_the_query_size,
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


def check_rows_without_their_copy_come_from_check_results(engine: Engine) -> None:
    """A kept row not (yet) in check_party_rows (its copy is written just after) is read from
    check_results: here the view is dropped, so no row has a copy."""
    migrations.migrate(engine)
    engine.execute("DROP TABLE check_party_rows_mv")
    checks = [uuid.uuid4() for _ in range(4)]
    rows = [result(c, "consistent", at(20, i), total=f"{i}00", org_id=ORG) for i, c in enumerate(checks, 1)]
    insert_results(engine, [*rows, result(checks[0], "voided", at(20, 1), version=2, org_id=ORG)])
    for order in Order:
        query = HistoryQuery(CheckFilters(), SortKey.TOTAL, order, limit=3)
        pages = _pages(engine, query, ORG)
        assert pages == _plain_pages(engine, query, ORG)
        assert len([i for p in pages for i in p.items]) == 4
