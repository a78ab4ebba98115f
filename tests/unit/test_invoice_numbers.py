"""发票号码: 8-digit paper numbers and 20-digit 数电 numbers (DOMAIN.md §2)."""

import random
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fapiao.domain.invoice_numbers import is_valid_paper_number, make_digital_number, parse_digital_number
from fapiao.domain.regions import PROVINCES

TODAY = date(2025, 11, 28)


def test_parse_digital_number_example() -> None:
    info = parse_digital_number("24322000000012345678", TODAY)
    assert info.valid and info.errors == ()
    assert (info.year, info.province, info.province_name) == (2024, "32", "江苏")
    assert (info.channel, info.sequence) == ("2", "000000012345678")


@pytest.mark.parametrize(
    ("number", "errors"),
    [
        ("", ("number must be 20 digits",)),
        ("2432200000001234567", ("number must be 20 digits",)),
        ("243220000000123456789", ("number must be 20 digits",)),
        ("2432200000001234567X", ("number must be 20 digits",)),
        ("２４３２２０００００００１２３４５６７８", ("number must be 20 digits",)),
        ("26322000000012345678", ("year 2026 is in the future",)),
        ("24992000000012345678", ("unknown province 99",)),
        ("24442000000012345678", ()),  # 广东
        ("25112000000012345678", ()),  # this year
        ("30102000000012345678", ("year 2030 is in the future", "unknown province 10")),
    ],
)
def test_parse_digital_number_errors(number: str, errors: tuple[str, ...]) -> None:
    info = parse_digital_number(number, TODAY)
    assert info.errors == errors
    assert info.valid == (not errors)


def test_malformed_digital_number_has_no_fields() -> None:
    info = parse_digital_number("abc", TODAY)
    assert (info.year, info.province, info.province_name, info.channel, info.sequence) == (None,) * 5


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("12345678", True),
        ("00000001", True),
        (" 12345678 ", True),
        ("00000000", False),  # the platform refuses an all-zero number
        ("1234567", False),
        ("123456789", False),
        ("1234567a", False),
        ("１２３４５６７８", False),
        ("", False),
    ],
)
def test_is_valid_paper_number(number: str, valid: bool) -> None:
    assert is_valid_paper_number(number) is valid


@given(
    year=st.integers(2000, 2099),
    province=st.sampled_from(sorted(PROVINCES)),
    seed=st.integers(0, 2**32),
    sequence=st.none() | st.integers(0, 10**15 - 1),
)
def test_generated_digital_numbers_round_trip(
    year: int, province: str, seed: int, sequence: int | None
) -> None:
    number = make_digital_number(year, province, random.Random(seed), sequence)
    info = parse_digital_number(number, date(year, 1, 1))
    assert info.valid, info.errors
    assert (info.year, info.province) == (year, province)
    if sequence is not None:
        assert info.sequence is not None and int(info.sequence) == sequence


@pytest.mark.parametrize(
    ("year", "province", "sequence"),
    [(1999, "11", None), (2100, "11", None), (2024, "99", None), (2024, "11", -1), (2024, "11", 10**15)],
)
def test_make_digital_number_rejects_bad_arguments(year: int, province: str, sequence: int | None) -> None:
    with pytest.raises(ValueError):
        make_digital_number(year, province, random.Random(0), sequence)


@given(st.text())
def test_parsers_never_raise(text: str) -> None:
    info = parse_digital_number(text, TODAY)
    assert info.valid == (not info.errors)
    assert isinstance(is_valid_paper_number(text), bool)
