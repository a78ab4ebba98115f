"""Sealing plaintext rows (fapiao.warehouse.legacy_sealing) on every ClickHouse engine."""

from __future__ import annotations

import uuid
from datetime import date

from fapiao.analytics.catalog import Dimension
from fapiao.analytics.filters import CheckFilters, time_range
from fapiao.analytics.history import HistoryQuery
from fapiao.analytics.reveal import open_row, open_trend
from fapiao.analytics.trends import TrendQuery
from fapiao.warehouse import alerts as alerts_table
from fapiao.warehouse import migrations
from fapiao.warehouse.engine import Engine
from fapiao.warehouse.history import fetch_page
from fapiao.warehouse.legacy_sealing import seal_plaintext
from fapiao.warehouse.party_names import sealed_filters
from fapiao.warehouse.trends import fetch_trend
from tests.analytics_data import (
    BUYER,
    OTHER_SELLER,
    SEALER,
    SELLER,
    alert,
    at,
    insert_results,
    ref,
    result,
    scalar,
)

PERIOD = (date(2026, 11, 22), date(2026, 11, 28))
PLAINTEXT = (
    "countIf(seller_tax_id != '' OR seller_name != '' OR buyer_tax_id != '' OR buyer_name != '' "
    "OR requester != '')"
)


def check_plaintext_rows_get_sealed(engine: Engine) -> None:
    migrations.migrate(engine)
    old = [
        result(uuid.uuid4(), "consistent", at(25), org_id="legacy", requester="alice"),
        result(
            uuid.uuid4(),
            "voided",
            at(26),
            org_id="legacy",
            requester="bob",
            number="22345678",
            seller=OTHER_SELLER,
        ),
        result(uuid.uuid4(), "inconsistent", at(26), org_id="legacy", requester="bob", number="32345678"),
    ]
    insert_results(engine, old, None)  # plaintext, as stored before migration 010
    engine.insert(alerts_table.TABLE, alerts_table.COLUMNS, [alerts_table.alert_row(alert(old[1]))])
    assert int(scalar(engine, f"SELECT {PLAINTEXT} FROM check_results")) == 3
    assert (
        int(scalar(engine, "SELECT count() FROM sellers_daily WHERE org_id = 'legacy'")) == 0
    )  # no pseudonym

    report = seal_plaintext(engine, SEALER)
    assert (
        report.parties == {"seller": 2, "buyer": 1} and report.requesters == 2 and report.alert_sellers == 1
    )
    assert report.rollups_rebuilt
    assert int(scalar(engine, f"SELECT {PLAINTEXT} FROM check_results")) == 0
    assert int(scalar(engine, "SELECT countIf(seller_tax_id != '') FROM risk_alerts")) == 0
    refs = engine.execute(
        "SELECT DISTINCT seller_ref FROM check_results WHERE seller_ref != '' ORDER BY seller_ref"
    )
    assert [r[0] for r in refs] == sorted([ref(SELLER), ref(OTHER_SELLER)])
    assert scalar(engine, "SELECT any(seller_ref) FROM risk_alerts") == ref(OTHER_SELLER)

    # the rows now count in the seller/requester rollups, and open to what they said
    trend = open_trend(SEALER, fetch_trend(engine, "legacy", TrendQuery(*PERIOD, dimension=Dimension.SELLER)))
    assert {s.label_zh: s.current.checks for s in trend.series} == {SELLER.name: 1, OTHER_SELLER.name: 1}
    by_requester = fetch_trend(engine, "legacy", TrendQuery(*PERIOD, dimension=Dimension.REQUESTER))
    assert {s.label_en: s.current.checks for s in open_trend(SEALER, by_requester).series} == {
        "alice": 1,
        "bob": 2,
    }
    page = fetch_page(engine, "legacy", HistoryQuery(CheckFilters(date_from=PERIOD[0])), None, PERIOD[1])
    opened = {i["invoice_number"]: open_row(SEALER, i) for i in page.items}
    assert (
        opened["12345678"]["seller_name"] == SELLER.name
        and opened["12345678"]["buyer_tax_id"] == BUYER.tax_id
    )
    assert opened["32345678"]["requester"] == "bob" and opened["32345678"]["seller_name"] == ""

    by_seller = CheckFilters(date_from=PERIOD[0], seller=str(OTHER_SELLER.tax_id))  # check_party_rows
    sealed = sealed_filters(engine, "legacy", by_seller, time_range(by_seller, PERIOD[1]), SEALER)
    found = fetch_page(engine, "legacy", HistoryQuery(sealed), None, PERIOD[1]).items
    assert [i["invoice_number"] for i in found] == ["22345678"]
    assert open_row(SEALER, found[0])["buyer_tax_id"] == BUYER.tax_id  # its copy was rebuilt sealed

    again = seal_plaintext(engine, SEALER)  # nothing left: no mutation, no rebuild
    assert again.parties == {"seller": 0, "buyer": 0} and again.mutations == 0 and not again.rollups_rebuilt
