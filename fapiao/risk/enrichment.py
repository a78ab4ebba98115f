"""Names for a result, from what its codes and tax ids encode (pure): where the invoice stock was issued,
where the seller and buyer are registered, and the invoice type.

Every key is always present (an empty string when the value is unknown), so the result maps to fixed
columns. Beijing divisions are named down to the district ("北京·海淀"), others to the province.
"""

from __future__ import annotations

from functools import lru_cache

from fapiao.domain.invoice_codes import UNKNOWN_FPLX, fplx_from_code, region_of
from fapiao.domain.invoice_types import invoice_type
from fapiao.domain.regions import BEIJING_DISTRICTS, PROVINCES, region_name
from fapiao.domain.taxpayer_id import parse_tax_id
from schemas.events import CheckResult

ENRICHMENT_KEYS: tuple[str, ...] = (
    "region_code",
    "region",
    "type_name",
    "type_name_en",
    "seller_division_code",
    "seller_division",
    "buyer_division_code",
    "buyer_division",
)


def enrich(result: CheckResult) -> dict[str, str]:
    """Region (from the invoice code, or the 数电 number's province), type, seller and buyer divisions."""
    region_code, region = invoice_region(result.invoice_code, result.invoice_number)
    type_zh, type_en = type_names(result)
    face = result.invoice
    seller_code, seller = division_of(face.seller.tax_id if face else None)
    buyer_code, buyer = division_of(face.buyer.tax_id if face else None)
    return {
        "region_code": region_code,
        "region": region,
        "type_name": type_zh,
        "type_name_en": type_en,
        "seller_division_code": seller_code,
        "seller_division": seller,
        "buyer_division_code": buyer_code,
        "buyer_division": buyer,
    }


def invoice_region(invoice_code: str, invoice_number: str) -> tuple[str, str]:
    """(4-digit region code, name) of a 10/12-digit code, or of a 20-digit 数电 number's province."""
    code = invoice_code.strip()
    if len(code) in (10, 12) and code.isascii() and code.isdigit():
        region = region_of(code)
        return region, region_name(region) or ""
    number = invoice_number.strip()
    if not code and len(number) == 20 and number.isascii() and number.isdigit():
        province = number[2:4]
        name = PROVINCES.get(province)
        return (province + "00", name) if name else ("", "")
    return "", ""


def type_names(result: CheckResult) -> tuple[str, str]:
    """(Chinese, English) type name: the register's when the face is shown, else what the code tells."""
    fplx = result.invoice.fplx if result.invoice else result.fplx
    if not fplx and result.invoice_code:
        fplx = fplx_from_code(result.invoice_code)
    if not fplx or fplx == UNKNOWN_FPLX:
        return "", ""
    try:
        kind = invoice_type(fplx)
    except KeyError:
        return "", ""
    return kind.name_zh, kind.name_en


@lru_cache(maxsize=16_384)  # per result, twice: the same sellers and buyers again and again (pure)
def division_of(tax_id: str | None) -> tuple[str, str]:
    """(6-digit division, name) where a taxpayer is registered, from its USCC or legacy number."""
    if not tax_id:
        return "", ""
    info = parse_tax_id(tax_id)
    code = info.division or ""
    province = PROVINCES.get(code[:2]) if code else None
    if not province:
        return code, ""
    district = BEIJING_DISTRICTS.get(code)
    return code, f"{province}·{district}" if district else province
