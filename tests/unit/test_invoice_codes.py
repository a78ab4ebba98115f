"""发票代码: the platform's type rule, region and year (DOMAIN.md §2), and generated codes."""

import random
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fapiao.domain.invoice_codes import (
    LEGACY_E_INVOICE_CODES,
    fplx_from_code,
    make_invoice_code,
    parse_invoice_code,
)
from fapiao.domain.invoice_types import INVOICE_TYPES
from fapiao.domain.regions import PLAN_CITIES, PROVINCES

TODAY = date(2025, 11, 28)
CODED_TYPES = [t.fplx for t in INVOICE_TYPES.values() if not t.digital]
REGIONS = sorted([p + "00" for p in PROVINCES] + list(PLAN_CITIES))


@pytest.mark.parametrize(
    ("code", "fplx"),
    [
        # the four legacy e-invoice codes, which no other rule would type as 10
        ("144031539110", "10"),
        ("131001570151", "10"),
        ("133011501118", "10"),
        ("111001571071", "10"),
        # 12 digits starting with 0: code[10:12]
        ("011001900111", "10"),
        ("032001900104", "04"),
        ("032001900105", "04"),
        ("044031900106", "11"),
        ("044031900107", "11"),
        ("033001900112", "14"),
        ("021021900113", "08"),
        ("037021900117", "15"),
        ("011001900101", "99"),
        ("011001900108", "99"),
        ("011001900110", "99"),
        ("011001900114", "99"),
        ("011001900199", "99"),
        ("011001920111", "10"),  # starts with 0: code[7] == '2' does not make it 03
        ("011001920199", "99"),
        # 12 digits not starting with 0: 机动车 when code[7] == '2'
        ("144032427631", "03"),
        ("911001920000", "03"),
        ("144032417631", "99"),
        ("144032437611", "99"),  # suffix rules only apply to codes starting with 0
        # 10 digits: code[7]
        ("3200153130", "01"),
        ("3200153530", "01"),
        ("3200153330", "04"),
        ("3200153630", "04"),
        ("3200153230", "02"),
        ("3200153730", "02"),
        ("3200153030", "99"),
        ("3200153430", "99"),
        ("3200153830", "99"),
        ("3200153930", "99"),
        # other lengths
        ("", "99"),
        ("12345678", "99"),
        ("32001531301", "99"),
        ("0110019001110", "99"),
    ],
)
def test_fplx_from_code(code: str, fplx: str) -> None:
    assert fplx_from_code(code) == fplx


def test_legacy_codes_are_the_four_from_the_platform() -> None:
    assert {"144031539110", "131001570151", "133011501118", "111001571071"} == LEGACY_E_INVOICE_CODES


@pytest.mark.parametrize(
    ("code", "fplx", "region", "region_name", "year"),
    [
        ("144031539110", "10", "4403", "深圳", 2015),
        ("131001570151", "10", "3100", "上海", 2015),
        ("133011501118", "10", "3300", "浙江", 2015),  # 3301 杭州 reduces to the province
        ("111001571071", "10", "1100", "北京", 2015),
        ("3200153130", "01", "3200", "江苏", 2015),
        ("3201153130", "01", "3200", "江苏", 2015),
        ("4403193160", "01", "4403", "深圳", 2019),
        ("4401193160", "01", "4400", "广东", 2019),
        ("021022000111", "10", "2102", "大连", 2020),
        ("033022000111", "10", "3302", "宁波", 2020),
        ("035022000111", "10", "3502", "厦门", 2020),
        ("037022000111", "10", "3702", "青岛", 2020),
        ("044032000111", "10", "4403", "深圳", 2020),
        ("044012000111", "10", "4400", "广东", 2020),
        ("150012420001", "03", "5000", "重庆", 2024),
        (" 044031900111 ", "10", "4403", "深圳", 2019),  # whitespace is stripped
    ],
)
def test_parse_valid_codes(code: str, fplx: str, region: str, region_name: str, year: int) -> None:
    info = parse_invoice_code(code, TODAY)
    assert (info.fplx, info.region, info.region_name, info.year) == (fplx, region, region_name, year)
    assert info.valid and info.errors == ()
    assert info.code == code.strip()


@pytest.mark.parametrize(
    ("code", "errors"),
    [
        ("", ("code must be 10 or 12 digits",)),
        ("abc", ("code must be 10 or 12 digits",)),
        ("04403190011", ("code must be 10 or 12 digits",)),
        ("0440319001a1", ("code must be 10 or 12 digits",)),
        ("０４４０３１９００１１１", ("code must be 10 or 12 digits",)),  # full-width digits
        ("044033100111", ("year 2031 is in the future",)),
        ("3200313130", ("year 2031 is in the future",)),
        ("044032600111", ("year 2026 is in the future",)),
        ("044030000111", ("year digits 00 are not allowed",)),
        ("099001900111", ("unknown region 9900",)),
        ("144031917631", ("unknown invoice type",)),
        ("3200153030", ("unknown invoice type",)),
        ("099003100199", ("unknown invoice type", "unknown region 9900", "year 2031 is in the future")),
    ],
)
def test_parse_invalid_codes(code: str, errors: tuple[str, ...]) -> None:
    info = parse_invoice_code(code, TODAY)
    assert not info.valid
    assert info.errors == errors


def test_code_of_the_current_year_is_valid() -> None:
    assert parse_invoice_code("044032500111", TODAY).valid
    assert not parse_invoice_code("044032500111", date(2024, 12, 31)).valid


def test_unparseable_code_has_no_fields() -> None:
    info = parse_invoice_code("12-34", TODAY)
    assert (info.fplx, info.region, info.region_name, info.year) == ("99", None, None, None)


@pytest.mark.parametrize("fplx", CODED_TYPES)
def test_make_invoice_code_shape(fplx: str) -> None:
    code = make_invoice_code(fplx, "4403", 2024, random.Random(7))
    assert len(code) == (10 if fplx in ("01", "02") else 12)
    if fplx == "03":
        assert code[0] != "0" and code[7] == "2"
    elif len(code) == 12:
        assert code[0] == "0"


@given(
    fplx=st.sampled_from(CODED_TYPES),
    region=st.sampled_from(REGIONS),
    year=st.integers(2001, 2099),
    seed=st.integers(0, 2**32),
)
def test_generated_codes_round_trip(fplx: str, region: str, year: int, seed: int) -> None:
    code = make_invoice_code(fplx, region, year, random.Random(seed))
    info = parse_invoice_code(code, date(year, 1, 1))
    assert info.valid, info.errors
    assert (info.fplx, info.region, info.year) == (fplx, region, year)


@pytest.mark.parametrize("fplx", ["31", "32", "51", "61", "81", "82"])
def test_digital_types_have_no_code(fplx: str) -> None:
    with pytest.raises(ValueError, match="数电"):
        make_invoice_code(fplx, "1100", 2024, random.Random(0))


@pytest.mark.parametrize(
    ("fplx", "region", "year"),
    [
        ("99", "1100", 2024),
        ("05", "1100", 2024),
        ("10", "3201", 2024),
        ("10", "9900", 2024),
        ("10", "1100", 2000),
    ],
)
def test_make_invoice_code_rejects_bad_arguments(fplx: str, region: str, year: int) -> None:
    with pytest.raises(ValueError):
        make_invoice_code(fplx, region, year, random.Random(0))


@given(st.text())
def test_parsers_never_raise_on_text(text: str) -> None:
    assert fplx_from_code(text) in {*INVOICE_TYPES, "99"}
    info = parse_invoice_code(text, TODAY)
    assert info.valid == (not info.errors)


@given(st.from_regex(r"[0-9]{10}|[0-9]{12}", fullmatch=True))
def test_digit_codes_always_get_region_and_year(code: str) -> None:
    info = parse_invoice_code(code, TODAY)
    assert info.region is not None and len(info.region) == 4
    assert info.year is not None and 2000 <= info.year <= 2099
    assert info.fplx == fplx_from_code(code)
    assert info.valid == (not info.errors)
