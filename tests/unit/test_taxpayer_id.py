"""统一社会信用代码 (GB 32100-2015, DOMAIN.md §5), cross-checked against python-stdnum."""

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import uscc as stdnum_uscc

from fapiao.domain.taxpayer_id import USCC_ALPHABET, make_uscc, parse_tax_id, uscc_check_char

ALPHA = st.sampled_from(USCC_ALPHABET)
DIGIT = st.sampled_from("0123456789")


def test_known_uscc() -> None:
    info = parse_tax_id("91110000600037341L")  # python-stdnum's example
    assert info.valid and info.kind == "uscc" and info.errors == ()
    assert (info.division, info.division_name) == ("110000", "北京")
    assert uscc_check_char("91110000600037341") == "L"


@pytest.mark.parametrize("value", ["91110000600037341l", " 9111 0000 6000 3734 1L ", "91-110000-600037341L"])
def test_normalises_case_and_spaces(value: str) -> None:
    info = parse_tax_id(value)
    assert info.valid and info.value == "91110000600037341L"


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("91110000600037341K", "check character should be L, not K"),
        ("91110000600037I41L", "USCC characters must be from 0-9A-Y without I, O, Z, S, V"),
        ("91110000600037O41L", "USCC characters must be from 0-9A-Y without I, O, Z, S, V"),
        ("9111000060003734SL", "USCC characters must be from 0-9A-Y without I, O, Z, S, V"),
        ("9111A000600037341L", "USCC positions 3-8 must be digits (the administrative division)"),
    ],
)
def test_invalid_uscc(value: str, error: str) -> None:
    info = parse_tax_id(value)
    assert info.kind == "uscc" and not info.valid
    assert info.errors == (error,)


def test_beijing_district_division() -> None:
    value = make_uscc("110108", random.Random(3))
    info = parse_tax_id(value)
    assert info.valid and (info.division, info.division_name) == ("110108", "海淀")
    assert value[2:8] == "110108" and value[:2] == "91"


@pytest.mark.parametrize(
    ("value", "valid", "division", "name"),
    [
        ("110108123456789", True, "110108", "海淀"),
        ("44030512345678X", True, "440305", "广东"),  # organisation codes may end in X
        ("44030512345678x", True, "440305", "广东"),
        ("4403051234567-8", False, None, None),  # '-' is stripped: 14 characters
        ("4403A5123456789", False, None, None),
    ],
)
def test_legacy15(value: str, valid: bool, division: str | None, name: str | None) -> None:
    info = parse_tax_id(value)
    if len(value.replace("-", "")) == 15:
        assert info.kind == "legacy15"
    assert info.valid is valid
    assert (info.division, info.division_name) == (division, name)


@pytest.mark.parametrize("value", ["", "123", "9111000060003734", "9111000060003734100"])
def test_unknown_lengths(value: str) -> None:
    info = parse_tax_id(value)
    assert info.kind == "unknown" and not info.valid and info.errors


@pytest.mark.parametrize("first17", ["", "9111000060003734", "91110000600037I41"])
def test_check_char_rejects_bad_input(first17: str) -> None:
    with pytest.raises(ValueError):
        uscc_check_char(first17)


@pytest.mark.parametrize(
    ("division", "registry"), [("11010", "91"), ("11010X", "91"), ("110108", "9"), ("110108", "9I")]
)
def test_make_uscc_rejects_bad_arguments(division: str, registry: str) -> None:
    with pytest.raises(ValueError):
        make_uscc(division, random.Random(0), registry)


@given(
    division=st.text(DIGIT, min_size=6, max_size=6),
    registry=st.text(DIGIT, min_size=2, max_size=2),
    seed=st.integers(0, 2**32),
)
def test_generated_uscc_validates_with_stdnum(division: str, registry: str, seed: int) -> None:
    value = make_uscc(division, random.Random(seed), registry)
    assert stdnum_uscc.is_valid(value)
    info = parse_tax_id(value)
    assert info.valid and info.division == division


@given(st.tuples(st.text(DIGIT, min_size=8, max_size=8), st.text(ALPHA, min_size=9, max_size=9)).map("".join))
def test_stdnum_valid_uscc_validates_with_ours(first17: str) -> None:
    value = first17 + stdnum_uscc.calc_check_digit(first17)
    assert stdnum_uscc.is_valid(value)
    assert uscc_check_char(first17) == value[-1]
    assert parse_tax_id(value).valid


@given(st.text(alphabet=USCC_ALPHABET + "IOZSVabc -", max_size=22))
def test_ours_accepts_everything_stdnum_accepts(value: str) -> None:
    if stdnum_uscc.is_valid(value):
        assert parse_tax_id(value).valid


@given(st.text())
def test_parse_never_raises(value: str) -> None:
    info = parse_tax_id(value)
    assert info.valid == (not info.errors)
