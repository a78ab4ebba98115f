"""Taxpayer IDs on invoices: the 18-character 统一社会信用代码 (GB 32100-2015), or an older 15-character
taxpayer number (6-digit division + 9-character organisation code or ID-card part).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Literal

from fapiao.domain.regions import division_name

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, Z, S, V
_VALUES = {c: i for i, c in enumerate(USCC_ALPHABET)}
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# Organisation code (GB 11714) check: the 9th character of the code embedded at USCC positions 9-17.
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

_USCC_RE = re.compile(rf"[{USCC_ALPHABET}]{{2}}[0-9]{{6}}[{USCC_ALPHABET}]{{10}}")
_LEGACY_RE = re.compile(r"[0-9]{6}[0-9A-Z]{9}")
_SPACES_RE = re.compile(r"[\s-]+")


@dataclass(frozen=True)
class TaxIdInfo:
    value: str
    kind: Literal["uscc", "legacy15", "unknown"]
    valid: bool
    errors: tuple[str, ...]
    division: str | None
    division_name: str | None


def uscc_check_char(first17: str) -> str:
    """The 18th character of a USCC: alphabet[(31 - Σ value×weight mod 31) mod 31]."""
    if len(first17) != 17 or any(c not in _VALUES for c in first17):
        raise ValueError(f"need 17 characters from {USCC_ALPHABET}, got {first17!r}")
    total = sum(_VALUES[c] * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def normalize_tax_id(value: str) -> str:
    """Upper case without spaces or dashes, as IDs are typed and OCR'd in many shapes."""
    return _SPACES_RE.sub("", value).upper()


def parse_tax_id(value: str) -> TaxIdInfo:
    """What kind of taxpayer ID this is, whether it is well formed, and where it was registered."""
    value = normalize_tax_id(value)
    if len(value) == 18:
        return _parse_uscc(value)
    if len(value) == 15:
        ok = bool(_LEGACY_RE.fullmatch(value))
        errors = () if ok else ("legacy taxpayer number must be 6 digits then 9 digits or letters",)
        division = value[:6] if ok else None
        return TaxIdInfo(value, "legacy15", ok, errors, division, division and division_name(division))
    errors = ("tax id must be 18 characters (USCC) or 15 (legacy taxpayer number)",)
    return TaxIdInfo(value, "unknown", False, errors, None, None)


def _parse_uscc(value: str) -> TaxIdInfo:
    division = value[2:8] if value[2:8].isascii() and value[2:8].isdigit() else None
    name = division and division_name(division)
    if not _USCC_RE.fullmatch(value):
        if any(c not in _VALUES for c in value):
            error = "USCC characters must be from 0-9A-Y without I, O, Z, S, V"
        else:
            error = "USCC positions 3-8 must be digits (the administrative division)"
        return TaxIdInfo(value, "uscc", False, (error,), division, name)
    expected = uscc_check_char(value[:17])
    if value[17] != expected:
        error = f"check character should be {expected}, not {value[17]}"
        return TaxIdInfo(value, "uscc", False, (error,), division, name)
    return TaxIdInfo(value, "uscc", True, (), division, name)


def make_uscc(division6: str, rng: random.Random, registry: str = "91") -> str:
    """A valid USCC registered in `division6` (test data).

    `registry` is positions 1-2 (登记管理部门 + 机构类别; '91' = 工商 enterprise). Positions 9-17 are a
    well-formed organisation code (8 digits + its GB 11714 check character), as on real IDs.
    """
    if len(division6) != 6 or not division6.isascii() or not division6.isdigit():
        raise ValueError(f"division must be 6 digits, got {division6!r}")
    if len(registry) != 2 or any(c not in _VALUES for c in registry):
        raise ValueError(f"registry must be 2 characters from {USCC_ALPHABET}, got {registry!r}")
    body = "".join(rng.choice("0123456789") for _ in range(8))
    remainder = 11 - sum(int(c) * w for c, w in zip(body, _ORG_WEIGHTS, strict=True)) % 11
    org_check = {10: "X", 11: "0"}.get(remainder, str(remainder))
    first17 = f"{registry}{division6}{body}{org_check}"
    return first17 + uscc_check_char(first17)
