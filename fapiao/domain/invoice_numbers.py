"""发票号码 (invoice numbers): 8 digits under a code, or the self-describing 20-digit 数电 number."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import date

from fapiao.domain.regions import PROVINCES

_PAPER_RE = re.compile(r"[0-9]{8}")
_DIGITAL_RE = re.compile(r"[0-9]{20}")
# Channel digit used for generated numbers: the one seen on 电子发票服务平台 numbers.
_GENERATED_CHANNEL = "2"


@dataclass(frozen=True)
class DigitalNumberInfo:
    number: str
    year: int | None
    province: str | None
    province_name: str | None
    channel: str | None
    sequence: str | None
    valid: bool
    errors: tuple[str, ...]


def parse_digital_number(number: str, today: date) -> DigitalNumberInfo:
    """Split a 数电 number into year(2) province(2) channel(1) sequence(15); never raises."""
    number = number.strip()
    if not _DIGITAL_RE.fullmatch(number):
        return DigitalNumberInfo(number, None, None, None, None, None, False, ("number must be 20 digits",))
    errors: list[str] = []
    year = 2000 + int(number[0:2])
    if year > today.year:
        errors.append(f"year {year} is in the future")
    province = number[2:4]
    name = PROVINCES.get(province)
    if name is None:
        errors.append(f"unknown province {province}")
    return DigitalNumberInfo(number, year, province, name, number[4], number[5:], not errors, tuple(errors))


def is_valid_paper_number(number: str) -> bool:
    """8 digits, not all zero (the platform refuses 00000000)."""
    number = number.strip()
    return bool(_PAPER_RE.fullmatch(number)) and number != "00000000"


def make_digital_number(year: int, province: str, rng: random.Random, sequence: int | None = None) -> str:
    """A 数电 number for that year and province (random sequence unless given), for test data."""
    if not 2000 <= year <= 2099:
        raise ValueError(f"year must be between 2000 and 2099, got {year}")
    if province not in PROVINCES:
        raise ValueError(f"unknown province {province!r}")
    if sequence is None:
        sequence = rng.randrange(1, 10**15)
    if not 0 <= sequence < 10**15:
        raise ValueError(f"sequence must have at most 15 digits, got {sequence}")
    return f"{year % 100:02d}{province}{_GENERATED_CHANNEL}{sequence:015d}"
