"""Fields from the printed text of an invoice (PDF text layer, OFD page text), by their printed labels,
and, where the labels cannot be read, by the shape of what is printed.

Both layouts are covered: the older e-invoice (发票代码 … 校验码, buyer above seller) and the 数电 one
(购买方 and 销售方 side by side, so text extraction yields the buyer's 名称 first on each line).

Text is NFKC-normalised first: PDF and OFD fonts often print Kangxi radicals (⽅ U+2F45, ⼦) and
full-width forms that look like the ordinary characters. A text layer whose CJK is unusable (fonts
without a working ToUnicode map: labels missing, names reduced to one wrong character) is detected by
`cjk_readable`; then only what does not depend on CJK is kept, by shape: 20-digit numbers, tax ids
whose GB 32100 check character is right, amounts that add up.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from fapiao.documents.normalize import digits, iso_date, money
from fapiao.domain.invoice_codes import UNKNOWN_FPLX, fplx_from_code
from fapiao.domain.taxpayer_id import parse_tax_id

_CODE = re.compile(r"发\s*票\s*代\s*码\s*[:：]\s*(\d{10,12})(?!\d)")
_NUMBER = re.compile(r"发\s*票\s*号\s*码\s*[:：]\s*(\d{20}|\d{8})(?!\d)")
_DATE = re.compile(
    r"开\s*票\s*日\s*期\s*[:：]\s*(\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日|\d{4}-\d{2}-\d{2})"
)
_CHECK = re.compile(r"校\s*验\s*码\s*[:：]\s*((?:\d\s*){20})(?!\d)")
_SUMS = re.compile(r"合\s*计\s*[¥￥]\s*(-?[\d,]+\.\d{2})\s*[¥￥]\s*(-?[\d,]+\.\d{2})")
_TOTAL = re.compile(r"[(（]\s*小\s*写\s*[)）]\s*[¥￥]?\s*(-?[\d,]+\.\d{2})")
# the value runs to the next blank, the next 名称 label (evenly spaced text has no blanks) or the line end;
# an empty value (an individual buyer's 名称 left blank, or the next label) keeps its place as ""
_NAME = re.compile(r"名\s*称\s*[:：][ \t]*(.*?)(?=[ \t]|名\s*称\s*[:：]|\n|$)")
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
# labels every invoice face prints; a readable CJK text layer shows several of them
_LABELS = ("发票号码", "开票日期", "名称", "合计", "纳税人识别号", "税额", "金额", "发票代码", "校验码")
_READABLE_LABELS = 3
# what a party's name is made of: CJK ideographs, ASCII letters and digits, and the punctuation firm names
# use; a private-use, replacement or control character means the font's ToUnicode map was wrong
_NAME_CHARS = re.compile(r"[\u3400-\u9fff\uf900-\ufaffA-Za-z0-9()（）·.&\-_*/、]+")

# by shape, where labels cannot be read
_TWENTY_DIGITS = re.compile(r"(?<!\d)\d{20}(?!\d)")
_TWELVE_DIGITS = re.compile(r"(?<!\d)\d{10,12}(?!\d)")
_ISO_DATE = re.compile(r"(?<!\d)(\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日|\d{4}-\d{2}-\d{2})(?!\d)")
_USCC = re.compile(r"(?<![0-9A-Z])[0-9A-Z]{18}(?![0-9A-Z])")
_MONEY = re.compile(r"(?<![\d.])\d{1,12}\.\d{2}")
_MAX_AMOUNTS = 300


def prepare(text: str) -> str:
    """NFKC (Kangxi radicals and full-width forms to ordinary characters), brackets made ASCII."""
    return unicodedata.normalize("NFKC", text).replace("（", "(").replace("）", ")")


def fields_from_text(text: str) -> dict[str, str]:
    """Every field found by its label, canonicalised (see normalize); absent ones are left out."""
    flat = prepare(text)
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
        if len(names) > index and (name := party_name(names[index])):
            found[f"{role}_name"] = name
        if len(tax_ids) > index and tax_ids[index]:
            found[f"{role}_tax_id"] = tax_ids[index]
    compact = re.sub(r"\s+", "", flat)
    by_code = fplx_from_code(found["invoice_code"]) if "invoice_code" in found else UNKNOWN_FPLX
    if by_code != UNKNOWN_FPLX:  # a 通行费 invoice is titled 增值税电子普通发票; its code says 14
        found["fplx"] = by_code
        return found
    for title, fplx in _TITLES:
        if title in compact:
            found["fplx"] = fplx
            break
    return found


def party_name(value: str) -> str | None:
    """A buyer's or seller's name as printed, or None when it cannot be one: shorter than two characters
    (a name read through a broken font comes out as one wrong character) or made of characters no name
    is made of."""
    name = prepare(value).strip()
    if len(name) < 2 or not _NAME_CHARS.fullmatch(name) or "名称" in name:
        return None
    return name


def cjk_readable(text: str) -> bool:
    """Whether the text's CJK can be trusted: the labels every invoice prints are there."""
    compact = re.sub(r"\s+", "", prepare(text))
    return sum(label in compact for label in _LABELS) >= _READABLE_LABELS


# what readable Chinese document text is made of: CJK, ASCII, CJK and full-width punctuation, ¥
_ORDINARY = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef\x20-\x7e\s¥·×]")
_GARBLED_SHARE = 0.3


def garbled(text: str) -> bool:
    """Whether the text is mostly what a font without a usable ToUnicode map yields: `(cid:N)` codes
    and characters of unrelated scripts (then the reader cannot tell an invoice from anything else)."""
    compact = re.sub(r"\s+", "", text)
    if not compact:
        return False
    cids = re.findall(r"\(cid:\d+\)", compact)
    rest = re.sub(r"\(cid:\d+\)", "", compact)
    odd = len(cids) + sum(1 for c in rest if not _ORDINARY.match(c))
    return odd / (len(cids) + len(rest)) > _GARBLED_SHARE


def is_invoice_text(text: str) -> bool:
    """The text calls itself an invoice (发票 in a title or label), as bank receipts and contracts do not."""
    return "发票" in re.sub(r"\s+", "", prepare(text))


def fields_by_shape(text: str, qr: dict[str, str] | None = None) -> dict[str, str]:
    """What can be read without labels: the 20-digit number of a 数电 invoice (when it is the only
    one and no invoice code is printed), a single date, the two tax ids (buyer first, as both layouts
    print them) when both have a valid check character, and amount + tax = total when exactly one such
    triple is printed (matching the QR code's amount when there is one)."""
    flat = prepare(text)
    found: dict[str, str] = {}
    numbers = set(_TWENTY_DIGITS.findall(flat))
    if len(numbers) == 1 and not _TWELVE_DIGITS.search(flat):
        found["invoice_number"] = numbers.pop()
    days = {d for d in (iso_date(m) for m in _ISO_DATE.findall(flat)) if d}
    if len(days) == 1:
        found["issue_date"] = days.pop()
    tax_ids = list(dict.fromkeys(t for t in _USCC.findall(flat) if parse_tax_id(t).valid))
    if len(tax_ids) == 2:
        found["buyer_tax_id"], found["seller_tax_id"] = tax_ids
    triple = _sums(flat, qr or {})
    if triple:
        found["amount"], found["tax"], found["total"] = triple
    return found


@dataclass(frozen=True)
class Printed:
    """What the printed text says: fields by their labels (no names when the CJK is unusable), fields
    recognised by their shape, and whether the CJK could be trusted."""

    labelled: dict[str, str]
    by_shape: dict[str, str]
    cjk_readable: bool


def read_printed(text: str, qr: dict[str, str] | None) -> Printed:
    labelled = fields_from_text(text)
    readable = cjk_readable(text)
    if not readable:  # a name read through a broken font is a wrong name
        labelled = {k: v for k, v in labelled.items() if not k.endswith("_name") and k != "fplx"}
    by_shape = {k: v for k, v in fields_by_shape(text, qr).items() if k not in labelled}
    return Printed(labelled, by_shape, readable)


def _sums(flat: str, qr: dict[str, str]) -> tuple[str, str, str] | None:
    values = sorted({Decimal(v) for v in _MONEY.findall(flat)})
    if len(values) > _MAX_AMOUNTS:  # not an invoice face; and the pairs below grow with the square
        return None
    present = set(values)
    triples = {
        (a, t, a + t) for i, t in enumerate(values) for a in values[i + 1 :] if a + t in present and t < a
    }
    if "total" in qr:
        triples = {x for x in triples if x[2] == Decimal(qr["total"])}
    if "amount" in qr:
        triples = {x for x in triples if x[0] == Decimal(qr["amount"])}
    if len(triples) != 1:
        return None
    return tuple(f"{v:.2f}" for v in triples.pop())  # type: ignore[return-value]


def _put(found: dict[str, str], name: str, value: str | None) -> None:
    if value is not None:
        found[name] = value
