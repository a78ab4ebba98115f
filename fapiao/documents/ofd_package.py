"""The parts of an OFD package (GB/T 33190) an invoice reader needs, found the way real e-invoices lay
them out.

`OFD.xml` -> `DocBody/DocRoot` (e.g. `Doc_0/Document.xml`), which names the pages (`Pages/Page@BaseLoc`),
the template pages they draw on (`CommonData/TemplatePage`, referenced by `Page/Template@TemplateID`:
数电 invoices print their labels there and only bare values on the page), the resource files
(`PublicRes`, `DocumentRes`: images by ID), the field map (`CustomTags` -> `CustomTag.xml`: which text
object is which field) and the attachments (the invoice XML of older layouts). `DocInfo/CustomDatas`
in `OFD.xml` repeats some fields (发票号码, 合计金额 …) as metadata.

Every path is resolved inside the archive and vetted (`safe_zip.resolve`); a missing part is skipped.
"""

from __future__ import annotations

import math
import posixpath
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from fapiao.documents.exceptions import DocumentError
from fapiao.documents.invoice_xml import local_name, parse_xml
from fapiao.documents.printed_lines import Piece
from fapiao.documents.safe_zip import SafeZip, resolve

MAX_PAGES = 2  # an invoice is one page; a second may carry the rest of the lines
MAX_OBJECTS = 20_000  # text and image objects read per page (a real invoice page has a few hundred)


@dataclass(frozen=True)
class TextObject:
    object_id: str
    piece: Piece


@dataclass
class OfdPackage:
    custom_data: dict[str, str] = field(default_factory=dict)  # DocInfo/CustomDatas, by Name
    texts: list[TextObject] = field(default_factory=list)  # pages and their templates, in reading order
    images: list[str] = field(default_factory=list)  # archive paths of the images the pages draw
    tags: dict[str, list[str]] = field(default_factory=dict)  # CustomTag field name -> object ids
    attachments: list[str] = field(default_factory=list)  # archive paths of attached XML files


def read_package(archive: SafeZip) -> OfdPackage:
    """The invoice-relevant parts of the first document of the package; DocumentError when the package
    structure itself (OFD.xml, DocRoot, Document.xml) is broken."""
    if not archive.has("OFD.xml"):
        raise DocumentError("ofd_damaged")
    ofd = parse_xml(archive.read("OFD.xml"))
    doc_root = _first_text(ofd, "DocRoot")
    if not doc_root:
        raise DocumentError("ofd_damaged")
    doc_path = resolve("", doc_root)
    if not archive.has(doc_path):
        raise DocumentError("ofd_damaged")
    doc_dir = posixpath.dirname(doc_path)
    document = parse_xml(archive.read(doc_path))
    package = OfdPackage()
    for element in _named(ofd.iter(), "CustomData"):
        name, value = (element.get("Name") or "").strip(), (element.text or "").strip()
        if name and value:
            package.custom_data.setdefault(name, value)
    media = _media(archive, document, doc_dir)
    templates = {
        e.get("ID", ""): resolve(doc_dir, e.get("BaseLoc", ""))
        for e in _named(document.iter(), "TemplatePage")
        if e.get("BaseLoc")
    }
    pages = [e.get("BaseLoc", "") for e in _named(document.iter(), "Page") if e.get("BaseLoc")]
    for base in pages[:MAX_PAGES]:
        page_path = resolve(doc_dir, base)
        if not archive.has(page_path):
            continue
        page = parse_xml(archive.read(page_path))
        drawn = [page]
        for ref in _named(page.iter(), "Template"):
            template = templates.get(ref.get("TemplateID", ""))
            parsed = _optional(archive, template) if template else None
            if parsed is not None:
                drawn.append(parsed)
        for content in drawn:
            _objects(content, package, media)
    package.tags = _custom_tags(archive, document, doc_dir)
    package.attachments = _attachment_files(archive, document, doc_dir)
    return package


def _objects(content: Element, package: OfdPackage, media: dict[str, str]) -> None:
    count = 0
    for element in content.iter():
        name = local_name(element)
        if name not in ("TextObject", "ImageObject"):
            continue
        count += 1
        if count > MAX_OBJECTS:
            return
        if name == "ImageObject":
            path = media.get(element.get("ResourceID", ""))
            if path and path not in package.images:
                package.images.append(path)
            continue
        piece = _piece(element)
        if piece is not None:
            package.texts.append(TextObject(element.get("ID", ""), piece))


def _piece(element: Element) -> Piece | None:
    """A text object where it is printed: its boundary's origin, moved by its CTM to the first TextCode."""
    codes = [e for e in element if local_name(e) == "TextCode"]
    text = "".join((c.text or "").strip() for c in codes)
    if not text:
        return None
    bx, by = _numbers(element.get("Boundary", ""), 2) or (0.0, 0.0)
    x0 = _float(codes[0].get("X"))
    y0 = _float(codes[0].get("Y"))
    a, b, c, d, e, f = _numbers(element.get("CTM", ""), 6) or (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
    scale = math.sqrt(abs(a * d - b * c)) or 1.0
    size = _float(element.get("Size")) * scale
    return Piece(bx + a * x0 + c * y0 + e, by + b * x0 + d * y0 + f, 0.0, size, text)


def _media(archive: SafeZip, document: Element, doc_dir: str) -> dict[str, str]:
    """Image resource id -> archive path, from the document's resource files."""
    found: dict[str, str] = {}
    for ref in (*_named(document.iter(), "PublicRes"), *_named(document.iter(), "DocumentRes")):
        if not (ref.text or "").strip():
            continue
        res_path = resolve(doc_dir, ref.text or "")
        res = _optional(archive, res_path)
        if res is None:
            continue
        base = posixpath.join(posixpath.dirname(res_path), res.get("BaseLoc", "").strip())
        for item in _named(res.iter(), "MultiMedia"):
            file_name = _first_text(item, "MediaFile")
            if item.get("ID") and file_name:
                path = _resolve_quietly(base, file_name) or _resolve_quietly(doc_dir, file_name)
                if path and archive.has(path):
                    found[item.get("ID", "")] = path
    return found


def _custom_tags(archive: SafeZip, document: Element, doc_dir: str) -> dict[str, list[str]]:
    """CustomTag.xml's field map: each element holding ObjectRefs names the field those objects print."""
    index = _first_text(document, "CustomTags")
    if not index:
        return {}
    index_path = resolve(doc_dir, index)
    index_xml = _optional(archive, index_path)
    if index_xml is None:
        return {}
    tags: dict[str, list[str]] = {}
    for loc in _named(index_xml.iter(), "FileLoc"):
        path = _resolve_quietly(posixpath.dirname(index_path), loc.text or "")
        tag_xml = _optional(archive, path) if path else None
        if tag_xml is None:
            continue
        for element in tag_xml.iter():
            refs = [(r.text or "").strip() for r in element if local_name(r) == "ObjectRef"]
            if refs:
                tags.setdefault(local_name(element), []).extend(r for r in refs if r)
    return tags


def _attachment_files(archive: SafeZip, document: Element, doc_dir: str) -> list[str]:
    index = _first_text(document, "Attachments")
    if not index:
        return []
    index_path = resolve(doc_dir, index)
    index_xml = _optional(archive, index_path)
    if index_xml is None:
        return []
    paths = []
    for loc in _named(index_xml.iter(), "FileLoc"):
        path = _resolve_quietly(posixpath.dirname(index_path), loc.text or "")
        if path and path.lower().endswith(".xml") and archive.has(path):
            paths.append(path)
    return paths


def _optional(archive: SafeZip, path: str) -> Element | None:
    """A part the invoice can be read without: None when missing or not well-formed (real packages
    carry broken field maps, such as `<:eInvoice xmlns:="">`); a DTD or entities still refuse it."""
    if not archive.has(path):
        return None
    try:
        return parse_xml(archive.read(path))
    except DocumentError as exc:
        if exc.code == "xml_malformed":
            return None
        raise


def _resolve_quietly(base: str, reference: str) -> str | None:
    """A reference that may be unsafe: None for it (a bad image path must not refuse a whole invoice)."""
    if not reference.strip():
        return None
    try:
        return resolve(base, reference)
    except DocumentError:
        return None


def _numbers(text: str, count: int) -> tuple[float, ...] | None:
    try:
        values = tuple(float(v) for v in text.split()[:count])
    except ValueError:
        return None
    return values if len(values) == count and all(math.isfinite(v) for v in values) else None


def _float(text: str | None) -> float:
    try:
        value = float(text or 0)
    except ValueError:
        return 0.0
    return value if math.isfinite(value) else 0.0


def _first_text(root: Element, name: str) -> str | None:
    return next((e.text.strip() for e in _named(root.iter(), name) if e.text and e.text.strip()), None)


def _named(elements: Iterable[Element], name: str) -> Iterator[Element]:
    return (e for e in elements if local_name(e) == name)
