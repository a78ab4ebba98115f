"""Fields from structured invoice XML: 数电 XML (root `EInvoice`) and the invoice data inside an OFD.

Parsed with defusedxml: no DTDs, no entities, no network. Elements are matched by local name, so a
namespace prefix or an extra wrapper does not matter.
"""

from __future__ import annotations

from collections.abc import Iterable
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from fapiao.documents.exceptions import DocumentError
from fapiao.documents.normalize import canonical

# field -> element local names that carry it, preferred first (数电 names, then the OFD CustomTag names)
_ALIASES: dict[str, tuple[str, ...]] = {
    "invoice_code": ("InvoiceCode",),
    "invoice_number": ("InvoiceNumber", "EIid", "InvoiceNo"),
    "issue_date": ("IssueTime", "RequestTime", "IssueDate"),
    "amount": ("TotalAmWithoutTax", "TaxExclusiveTotalAmount"),
    "tax": ("TotalTaxAm", "TaxTotalAmount"),
    "total": ("TotalTax-includedAmount", "TaxInclusiveTotalAmount"),
    "check_code": ("InvoiceCheckCode", "CheckCode"),
    "seller_name": ("SellerName",),
    "seller_tax_id": ("SellerIdNum", "SellerTaxID"),
    "buyer_name": ("BuyerName",),
    "buyer_tax_id": ("BuyerIdNum", "BuyerTaxID"),
}
# 数电 labels: GeneralOrSpecialVAT 01 专票 / 02 普票; the ticket kinds by their label name
_VAT_KIND = {"01": "31", "02": "32"}


def parse_xml(data: bytes) -> Element:
    try:
        return fromstring(data, forbid_dtd=True)
    except DefusedXmlException:
        raise DocumentError("xml_forbidden") from None
    except (ParseError, ValueError, LookupError):  # LookupError: an unknown declared encoding
        raise DocumentError("xml_malformed") from None


def local_name(element: Element) -> str:
    return element.tag.rsplit("}", 1)[-1] if isinstance(element.tag, str) else ""


def fields_from_xml(root: Element) -> dict[str, str]:
    """Every known field present in the tree, canonicalised; absent ones are left out."""
    texts: dict[str, str] = {}
    for element in root.iter():
        name = local_name(element)
        if element.text and element.text.strip() and name not in texts:
            texts[name] = element.text.strip()
    found: dict[str, str] = {}
    for field, names in _ALIASES.items():
        raw = next((texts[n] for n in names if n in texts), None)
        if raw is None:
            continue
        value = canonical(field, raw)
        if value:
            found[field] = value
    fplx = _digital_type(root)
    if fplx:
        found["fplx"] = fplx
    return found


def graph_code(root: Element) -> str | None:
    """The QR string (`GraphCode`) carried in the XML, if any."""
    return next((e.text.strip() for e in _named(root.iter(), "GraphCode") if e.text and e.text.strip()), None)


def _digital_type(root: Element) -> str | None:
    for element in _named(root.iter(), "LabelName"):
        text = element.text or ""
        if "铁路" in text:
            return "51"
        if "航空" in text:
            return "61"
    for kind in _named(root.iter(), "GeneralOrSpecialVAT"):
        code = next((e.text.strip() for e in _named(kind.iter(), "LabelCode") if e.text), "")
        if code in _VAT_KIND:
            return _VAT_KIND[code]
    return None


def _named(elements: Iterable[Element], name: str) -> Iterable[Element]:
    return (e for e in elements if local_name(e) == name)
