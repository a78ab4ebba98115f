"""Names from codes and tax ids: region, type, seller and buyer divisions."""

from __future__ import annotations

from fapiao.risk.enrichment import ENRICHMENT_KEYS, division_of, enrich, invoice_region
from schemas.events import Verdict
from tests.factories import issued
from tests.unit.test_risk_rules import result_of


def test_enrich_a_consistent_result() -> None:
    names = enrich(result_of(Verdict.CONSISTENT))
    assert tuple(names) == ENRICHMENT_KEYS
    assert names["region_code"] == "1100" and names["region"] == "北京"
    assert (
        names["type_name"] == "增值税电子普通发票"
        and names["type_name_en"] == "VAT electronic ordinary invoice"
    )
    assert names["seller_division_code"] == "110108" and names["seller_division"] == "北京·海淀"
    assert names["buyer_division_code"] == "110105" and names["buyer_division"] == "北京·朝阳"


def test_enrich_without_a_face_names_what_the_code_tells() -> None:
    names = enrich(result_of(Verdict.NOT_FOUND))
    assert names["region"] == "北京" and names["type_name"] == "增值税电子普通发票"
    assert names["seller_division"] == "" and names["buyer_division_code"] == ""


def test_digital_number_region_and_type() -> None:
    digital = issued(fplx="32", code="", number="26442000000000000041")
    names = enrich(result_of(Verdict.CONSISTENT, invoice=digital))
    assert names["region_code"] == "4400" and names["region"] == "广东"
    assert names["type_name"] == "电子发票(普通发票)"
    assert enrich(result_of(Verdict.NOT_FOUND, invoice=digital))["type_name"] == ""  # 专/普 not told


def test_regions_of_plan_cities_and_unknowns() -> None:
    assert invoice_region("4403221320", "00000001") == ("4403", "深圳")
    assert invoice_region("", "26992000000000000041") == ("", "")
    assert invoice_region("12ab", "x") == ("", "")


def test_divisions_of_tax_ids() -> None:
    assert division_of(None) == ("", "")
    assert division_of("913100007178847270") == ("310000", "上海")
    assert division_of("110108123456789") == ("110108", "北京·海淀")  # legacy 15-character number
    assert division_of("91999999MA0000000X") == ("999999", "")
