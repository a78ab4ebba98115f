"""Fields from the printed text of an invoice (PDF text layer, OFD page text), by their printed labels.

Both layouts are covered: the older e-invoice (发票代码 … 校验码, buyer above seller) and the 数电 one
(购买方 and 销售方 side by side, so text extraction yields the buyer's 名称 first on each line).
"""

from __future__ import annotations

import re

from fapiao.documents.normalize import digits, iso_date, money

_CODE = re.compile(r"发\s*票\s*代\s*码\s*[:：]\s*(\d{10,12})")
_NUMBER = re.compile(r"发\s*票\s*号\s*码\s*[:：]\s*(\d{20}|\d{8})")
_DATE = re.compile(
    r"开\s*票\s*日\s*期\s*[:：]\s*(\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日|\d{4}-\d{2}-\d{2})"
)
_CHECK = re.compile(r"校\s*验\s*码\s*[:：]\s*((?:\d\s*){20})")
_SUMS = re.compile(r"合\s*计\s*[¥￥]\s*(-?[\d,]+\.\d{2})\s*[¥￥]\s*(-?[\d,]+\.\d{2})")
_TOTAL = re.compile(r"[(（]\s*小\s*写\s*[)）]\s*[¥￥]?\s*(-?[\d,]+\.\d{2})")
_NAME = re.compile(r"名\s*称\s*[:：]\s*(\S+)")
# the label is printed for every party; an individual buyer's value is blank, which keeps the order
_TAX_ID = re.compile(r"(?:纳税人识别号|统一社会信用代码)\s*[:：][ \t]*([0-9A-Z]{15,20})?")
# Titles, most specific first: the type a 20-digit (数电) number has, or a coded invoice's kind.
_TITLES = (
    ("铁路电子客票", "51"),
    ("航空运输电子客票行程单", "61"),
    ("电子发票(增值税专用发票)", "31"),
    ("电子发票(普通发票)", "32"),
    ("通行费电子普通发票", "14"),
    ("增值税电子专用发票", "08"),
    ("增值税电子普通发票", "10"),
    ("二手车销售统一发票", "15"),
    ("机动车销售统一发票", "03"),
    ("货物运输业增值税专用发票", "02"),
    ("增值税普通发票(卷票)", "11"),
    ("增值税专用发票", "01"),
    ("增值税普通发票", "04"),
)


def fields_from_text(text: str) -> dict[str, str]:
    """Every field found in the text, canonicalised (see normalize); absent ones are left out."""
    flat = text.replace("（", "(").replace("）", ")")
    found: dict[str, str] = {}
    if m := _CODE.search(flat):
        found["invoice_code"] = m[1]
    if m := _NUMBER.search(flat):
        found["invoice_number"] = m[1]
    if (m := _DATE.search(flat)) and (day := iso_date(m[1])):
        found["issue_date"] = day
    if m := _CHECK.search(flat):
        found["check_code"] = digits(m[1])
    if m := _SUMS.search(flat):
        _put(found, "amount", money(m[1]))
        _put(found, "tax", money(m[2]))
    if m := _TOTAL.search(flat):
        _put(found, "total", money(m[1]))
    names, tax_ids = _NAME.findall(flat), _TAX_ID.findall(flat)
    for role, index in (("buyer", 0), ("seller", 1)):
        if len(names) > index:
            found[f"{role}_name"] = names[index]
        if len(tax_ids) > index and tax_ids[index]:
            found[f"{role}_tax_id"] = tax_ids[index]
    compact = re.sub(r"\s+", "", flat)
    for title, fplx in _TITLES:
        if title in compact:
            found["fplx"] = fplx
            break
    return found


def _put(found: dict[str, str], name: str, value: str | None) -> None:
    if value is not None:
        found[name] = value
