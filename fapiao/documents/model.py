"""What reading a document gives: each field with its source and confidence, disagreements, notes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

FIELDS: tuple[str, ...] = (
    "fplx",
    "invoice_code",
    "invoice_number",
    "issue_date",  # YYYY-MM-DD
    "amount",  # 合计金额 (不含税), "123.45"
    "tax",  # 合计税额
    "total",  # 价税合计
    "check_code",  # 校验码, 20 digits
    "seller_name",
    "seller_tax_id",
    "buyer_name",
    "buyer_tax_id",
)


class Source(StrEnum):
    TEXT = "text_layer"  # the printed text (PDF text layer, OFD page text)
    QR = "qr"  # the QR code (rendered and decoded) or the OFD GraphCode string
    XML = "xml"  # structured invoice XML (数电 XML, the invoice data embedded in an OFD)
    TAGS = "ofd_tags"  # an OFD's own field map: CustomTag.xml naming its text objects, DocInfo CustomDatas
    SHAPE = "text_unlabelled"  # printed text whose label could not be read, recognised by its shape


# How far a value from one source alone is trusted: structured data, then the QR, then the OFD's field
# map, then text patterns; a value recognised only by its shape (a 20-digit number, a tax id with a
# valid check character) least.
SOURCE_CONFIDENCE: dict[Source, float] = {
    Source.XML: 0.99,
    Source.QR: 0.95,
    Source.TAGS: 0.9,
    Source.TEXT: 0.75,
    Source.SHAPE: 0.5,
}

AGREED_CONFIDENCE = 1.0
DISPUTED_CONFIDENCE = 0.3


@dataclass(frozen=True)
class Found:
    value: str
    source: Source
    confidence: float
    also_in: tuple[Source, ...] = ()  # other sources that gave the same value


@dataclass(frozen=True)
class Disagreement:
    field: str
    values: Mapping[Source, str]


@dataclass(frozen=True)
class Note:
    """Something worth knowing that did not stop the reading (a QR that could not be decoded …)."""

    code: str
    message_zh: str
    message_en: str


CJK_UNREADABLE = Note(
    "cjk_unreadable",
    "文字层中的中文无法识别(字体缺少可用的编码映射), 名称等中文字段未读取",
    "the text layer's Chinese cannot be read (fonts without a usable ToUnicode map): names were not read",
)


@dataclass(frozen=True)
class Extraction:
    file_name: str
    format: str  # pdf | ofd | xml
    fields: Mapping[str, Found]
    disagreements: tuple[Disagreement, ...] = ()
    notes: tuple[Note, ...] = field(default=())

    def value(self, name: str) -> str | None:
        found = self.fields.get(name)
        return found.value if found else None

    @property
    def confidence(self) -> float:
        """The least trusted of the fields that identify the invoice (0 when none was found)."""
        key = [f.confidence for n, f in self.fields.items() if n in ("invoice_number", "issue_date")]
        return min(key) if key else 0.0

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Extraction:
        """The inverse of `to_dict` (how a worker process hands its reading back)."""
        fields = {
            name: Found(
                str(f["value"]),
                Source(f["source"]),
                float(f["confidence"]),
                tuple(Source(s) for s in f.get("also_in", ())),
            )
            for name, f in data["fields"].items()
        }
        disagreements = tuple(
            Disagreement(d["field"], {Source(s): str(v) for s, v in d["values"].items()})
            for d in data["disagreements"]
        )
        notes = tuple(Note(n["code"], n["message_zh"], n["message_en"]) for n in data["notes"])
        return cls(str(data["file"]), str(data["format"]), fields, disagreements, notes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file_name,
            "format": self.format,
            "confidence": round(self.confidence, 2),
            "fields": {
                name: {
                    "value": f.value,
                    "source": f.source.value,
                    "confidence": round(f.confidence, 2),
                    **({"also_in": [s.value for s in f.also_in]} if f.also_in else {}),
                }
                for name, f in self.fields.items()
            },
            "disagreements": [
                {"field": d.field, "values": {s.value: v for s, v in d.values.items()}}
                for d in self.disagreements
            ],
            "notes": [
                {"code": n.code, "message_zh": n.message_zh, "message_en": n.message_en} for n in self.notes
            ],
        }
