"""Regions as used by invoice codes, 数电 numbers and taxpayer IDs (DOMAIN.md §2)."""

import pytest

from fapiao.domain.regions import BEIJING_DISTRICTS, PLAN_CITIES, PROVINCES, division_name, region_name


def test_tables_match_domain_facts() -> None:
    assert len(PROVINCES) == 31
    assert PROVINCES["11"] == "北京" and PROVINCES["65"] == "新疆" and PROVINCES["50"] == "重庆"
    assert PLAN_CITIES == {"2102": "大连", "3302": "宁波", "3502": "厦门", "3702": "青岛", "4403": "深圳"}
    assert len(BEIJING_DISTRICTS) == 16 and BEIJING_DISTRICTS["110108"] == "海淀"
    assert all(code.startswith("11") for code in BEIJING_DISTRICTS)


@pytest.mark.parametrize(
    ("region4", "name"),
    [
        ("1100", "北京"),
        ("3200", "江苏"),
        ("4400", "广东"),
        ("2102", "大连"),
        ("3302", "宁波"),
        ("3502", "厦门"),
        ("3702", "青岛"),
        ("4403", "深圳"),
        ("4401", None),  # a city that is not a 计划单列市 is not a code region
        ("9900", None),
        ("1000", None),
        ("11", None),
        ("", None),
    ],
)
def test_region_name(region4: str, name: str | None) -> None:
    assert region_name(region4) == name


@pytest.mark.parametrize(
    ("code6", "name"),
    [
        ("110108", "海淀"),
        ("110101", "东城"),
        ("110119", "延庆"),
        ("110000", "北京"),
        ("110199", "北京"),  # unknown district: fall back to the province
        ("440305", "广东"),
        ("100000", None),  # central bodies: no province
        ("11010", None),
        ("11010X", None),
        ("１１０１０８", None),  # full-width digits are not digits here
    ],
)
def test_division_name(code6: str, name: str | None) -> None:
    assert division_name(code6) == name
