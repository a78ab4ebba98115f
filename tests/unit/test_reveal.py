"""Filters on sealed columns and opening what the warehouse returns (fapiao.analytics.reveal)."""

from __future__ import annotations

from datetime import date

from fapiao.analytics.custom_reports import ReportTable
from fapiao.analytics.filters import CheckFilters, compile_filters, time_range
from fapiao.analytics.history import HistoryQuery
from fapiao.analytics.reveal import (
    NO_MATCH,
    NameIndex,
    RowOpener,
    open_report,
    open_row,
    pseudonymise_filters,
)
from fapiao.crypto.protect import FieldSealer, Role
from tests.analytics_data import BUYER, OTHER_SELLER, SEALER, SELLER, ref, requester_ref

TODAY = date(2026, 11, 28)


def _compiled(filters: CheckFilters) -> tuple[str, dict[str, object]]:
    compiled = compile_filters("acme", filters, time_range(filters, TODAY))
    return " AND ".join((*compiled.prewhere, *compiled.where)), compiled.params


def test_a_tax_id_and_a_requester_filter_become_pseudonyms_and_leave_no_plaintext_in_the_query() -> None:
    plain = CheckFilters(seller=str(SELLER.tax_id), buyer=str(BUYER.tax_id), requester="alice")
    sealed = pseudonymise_filters(SEALER, plain)
    sql, params = _compiled(sealed)
    assert "seller_ref IN %(seller_refs)s" in sql and "buyer_ref IN %(buyer_refs)s" in sql
    assert "requester_ref = %(requester_ref)s" in sql
    assert "seller_tax_id" not in sql and "requester =" not in sql
    assert params["seller_refs"] == (ref(SELLER),) and params["requester_ref"] == requester_ref("alice")
    assert not {str(SELLER.tax_id), str(BUYER.tax_id), "alice"} & {str(v) for v in params.values()}
    # the cursor fingerprint is the user's filters', so pages keep fitting each other
    assert HistoryQuery(sealed).fingerprint() == HistoryQuery(plain).fingerprint()


def test_a_name_filter_becomes_the_matching_parties_pseudonyms() -> None:
    names = NameIndex.open(
        SEALER,
        {
            "seller": [
                (ref(SELLER), str(SEALER.seal_party(SELLER, "seller").sealed)),
                (ref(OTHER_SELLER), str(SEALER.seal_party(OTHER_SELLER, "seller").sealed)),
            ]
        },
    )
    assert pseudonymise_filters(SEALER, CheckFilters(seller="浦东"), names).seller_refs == (
        ref(OTHER_SELLER),
    )
    both = pseudonymise_filters(SEALER, CheckFilters(seller="有限公司"), names).seller_refs
    assert sorted(both) == sorted([ref(SELLER), ref(OTHER_SELLER)])
    nobody = pseudonymise_filters(SEALER, CheckFilters(seller="无此公司"), names)
    assert nobody.seller_refs == (NO_MATCH,)  # matches no row, rather than dropping the filter
    assert "seller_ref IN %(seller_refs)s" in _compiled(nobody)[0]


def test_rows_open_and_unsealed_rows_stay_as_they_are() -> None:
    seller, buyer = SEALER.seal_party(SELLER, "seller"), SEALER.seal_party(BUYER, "buyer")
    ref_r, sealed_r = SEALER.seal_requester("alice")
    row = {
        "check_id": "c1",
        "seller_tax_id": "",
        "seller_name": "",
        "buyer_tax_id": "",
        "buyer_name": "",
        "requester": "",
        "seller_ref": seller.ref,
        "seller_sealed": seller.sealed,
        "buyer_ref": buyer.ref,
        "buyer_sealed": buyer.sealed,
        "requester_ref": ref_r,
        "requester_sealed": sealed_r,
    }
    opened = open_row(SEALER, row)
    assert (opened["seller_name"], opened["seller_tax_id"]) == (SELLER.name, SELLER.tax_id)
    assert (opened["buyer_name"], opened["requester"]) == (BUYER.name, "alice")
    assert not {"seller_sealed", "seller_ref", "requester_sealed"} & set(opened)
    legacy = {"check_id": "c0", "seller_name": "旧公司", "seller_ref": "", "seller_sealed": ""}
    assert open_row(SEALER, legacy) == {"check_id": "c0", "seller_name": "旧公司"}


def test_report_columns_open_into_tax_ids_names_and_requesters() -> None:
    seller = SEALER.seal_party(SELLER, "seller")
    ref_r, sealed_r = SEALER.seal_requester("bob")
    table = ReportTable(
        ["seller_tax_id", "seller_name", "requester", "requester_sealed", "checks"],
        [[seller.ref, seller.sealed, ref_r, sealed_r, 3]],
    )
    assert open_report(SEALER, table) == ReportTable(
        ["seller_tax_id", "seller_name", "requester", "checks"], [[SELLER.tax_id, SELLER.name, "bob", 3]]
    )


def test_a_row_opener_opens_each_distinct_envelope_once_and_gives_what_open_row_gives() -> None:
    calls: list[str] = []

    class Counting(FieldSealer):
        def open_party_fields(self, envelope: str, role: Role, ref: str) -> dict[str, str | None]:
            calls.append(role)
            return super().open_party_fields(envelope, role, ref)

        def open_requester(self, envelope: str, ref: str) -> str:
            calls.append("requester")
            return super().open_requester(envelope, ref)

    counting = Counting(SEALER.sm4, SEALER.hmac_key)
    seller, other = SEALER.seal_party(SELLER, "seller"), SEALER.seal_party(OTHER_SELLER, "seller")
    buyer = SEALER.seal_party(BUYER, "buyer")
    ref_r, sealed_r = SEALER.seal_requester("alice")
    rows = [
        {
            "check_id": f"c{n}",
            "seller_ref": party.ref,
            "seller_sealed": party.sealed,
            "buyer_ref": buyer.ref,
            "buyer_sealed": buyer.sealed,
            "requester_ref": ref_r,
            "requester_sealed": sealed_r,
        }
        for n, party in enumerate([seller, other, seller, seller, other])
    ]
    opener = RowOpener(counting)
    assert [opener(row) for row in rows] == [open_row(SEALER, row) for row in rows]
    assert sorted(calls) == ["buyer", "requester", "seller", "seller"]  # 5 rows, 4 distinct envelopes
    small = RowOpener(counting, limit=1)  # bounded: starts afresh when full, still right
    assert [small(row) for row in rows] == [open_row(SEALER, row) for row in rows]
