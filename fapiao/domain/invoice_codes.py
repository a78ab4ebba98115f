"""发票代码 (invoice codes): the type, region and year they encode, and generating valid ones.

The type rule is the verification platform's own front-end rule, so a code is typed exactly as the
platform will type it, including its quirks (four legacy e-invoice codes, `99` when nothing matches).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import date

from fapiao.domain.invoice_types import invoice_type
from fapiao.domain.regions import PLAN_CITIES, region_name

UNKNOWN_FPLX = "99"

# Early (2015) e-invoice pilot codes that do not follow the `0…11` pattern but are type 10.
LEGACY_E_INVOICE_CODES = frozenset({"144031539110", "131001570151", "133011501118", "111001571071"})

# 12-digit codes starting with 0: the last two digits name the type.
_SUFFIX_TYPES: dict[str, str] = {
    "11": "10",
    "04": "04",
    "05": "04",
    "06": "11",
    "07": "11",
    "12": "14",
    "13": "08",
    "17": "15",
}
# 10-digit codes: code[7] (the category digit) names the type.
_CATEGORY_TYPES: dict[str, str] = {"1": "01", "5": "01", "3": "04", "6": "04", "2": "02", "7": "02"}

_CODE_RE = re.compile(r"[0-9]{10}|[0-9]{12}")


@dataclass(frozen=True)
class CodeInfo:
    code: str
    fplx: str  # '99' unknown
    region: str | None  # 4 digits, reduced to province+'00' except 计划单列市
    region_name: str | None
    year: int | None  # 4-digit year
    valid: bool
    errors: tuple[str, ...]


def fplx_from_code(code: str) -> str:
    """The platform's type for a code; '99' when it can't tell (it does not check for digits)."""
    if len(code) == 12:
        if code in LEGACY_E_INVOICE_CODES:
            return "10"
        if code[0] == "0":
            return _SUFFIX_TYPES.get(code[10:12], UNKNOWN_FPLX)
        return "03" if code[7] == "2" else UNKNOWN_FPLX
    if len(code) == 10:
        return _CATEGORY_TYPES.get(code[7], UNKNOWN_FPLX)
    return UNKNOWN_FPLX


def region_of(code: str) -> str:
    """The 4-digit region of a 10/12-digit code, reduced to its province except for 计划单列市."""
    raw = code[1:5] if len(code) == 12 else code[0:4]
    return raw if raw in PLAN_CITIES else raw[:2] + "00"


def parse_invoice_code(code: str, today: date) -> CodeInfo:
    """Everything a code says, with the reasons the platform would refuse it; never raises."""
    code = code.strip()
    if not _CODE_RE.fullmatch(code):
        return CodeInfo(code, UNKNOWN_FPLX, None, None, None, False, ("code must be 10 or 12 digits",))
    errors: list[str] = []
    fplx = fplx_from_code(code)
    if fplx == UNKNOWN_FPLX:
        errors.append("unknown invoice type")
    region = region_of(code)
    name = region_name(region)
    if name is None:
        errors.append(f"unknown region {region}")
    yy = code[5:7] if len(code) == 12 else code[4:6]
    year = 2000 + int(yy)
    if yy == "00":
        errors.append("year digits 00 are not allowed")
    elif year > today.year:
        errors.append(f"year {year} is in the future")
    return CodeInfo(code, fplx, region, name, year, not errors, tuple(errors))


def make_invoice_code(fplx: str, region: str, year: int, rng: random.Random) -> str:
    """A code of type `fplx` that parses back to that type, region and year (for test data)."""
    try:
        kind = invoice_type(fplx)
    except KeyError:
        raise ValueError(f"unknown invoice type {fplx!r}") from None
    if kind.digital:
        raise ValueError(f"type {fplx} ({kind.name_zh}) is 数电 and has no invoice code")
    if region_name(region) is None:
        raise ValueError(f"region must be a province code + '00' or a 计划单列市, got {region!r}")
    if not 2001 <= year <= 2099:
        raise ValueError(f"year must be between 2001 and 2099, got {year}")
    yy = f"{year % 100:02d}"

    def digits(n: int) -> str:
        return "".join(rng.choice("0123456789") for _ in range(n))

    if fplx in ("01", "02"):
        # region, year, batch, category, copies, amount version (0 = computer-issued)
        category = rng.choice("15" if fplx == "01" else "27")
        return f"{region}{yy}{rng.choice('123456789')}{category}{rng.choice('36')}0"
    if fplx == "03":
        return f"1{region}{yy}2{digits(4)}"
    suffixes = [suffix for suffix, t in _SUFFIX_TYPES.items() if t == fplx]
    return f"0{region}{yy}{digits(3)}{rng.choice(suffixes)}"
