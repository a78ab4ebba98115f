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

import posixpath
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from fapiao.documents.exceptions import DocumentError
from fapiao.documents.invoice_xml import local_name, parse_xml
from fapiao.documents.ofd_geometry import number, numbers, placement
from fapiao.documents.ofd_paths import DrawnPath, drawn_path
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
    paths: list[DrawnPath] = field(default_factory=list)  # the first page's path objects, template first
    page_mm: tuple[float, float] = (210.0, 140.0)  # the first page's PhysicalBox width and height
    first_page_texts: int = 0  # texts[:first_page_texts] are the first page's and its templates'
    # the first page's image objects: archive path and Boundary (x, y, width, height, mm), for the preview
    page_images: list[tuple[str, tuple[float, ...]]] = field(default_factory=list)


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
    package.page_mm = _box(document) or package.page_mm
    for index, base in enumerate(pages[:MAX_PAGES]):
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
        if index == 0:
            package.page_mm = _box(page) or package.page_mm
        paths = [_objects(content, package, media, first=index == 0) for content in drawn]
        if index == 0:  # templates are the background: their paths first, the page's over them
            package.paths = [p for layer in reversed(paths) for p in layer]
            package.first_page_texts = len(package.texts)
    package.tags = _custom_tags(archive, document, doc_dir)
    package.attachments = _attachment_files(archive, document, doc_dir)
    return package


def _objects(
    content: Element, package: OfdPackage, media: dict[str, str], *, first: bool = False
) -> list[DrawnPath]:
    """Record the content's text and image objects in the package (the first page's images with where
    they are drawn); its path objects, in order."""
    count = 0
    paths: list[DrawnPath] = []
    for element in content.iter():
        name = local_name(element)
        if name not in ("TextObject", "ImageObject", "PathObject"):
            continue
        count += 1
        if count > MAX_OBJECTS:
            break
        if name == "PathObject":
            if (drawn := drawn_path(element)) is not None:
                paths.append(drawn)
            continue
        if name == "ImageObject":
            image = media.get(element.get("ResourceID", ""))
            if image and image not in package.images:
                package.images.append(image)
            box = numbers(element.get("Boundary", ""), 4)
            if image and first and box and box[2] > 0 and box[3] > 0:
                package.page_images.append((image, box))
            continue
        piece = _piece(element)
        if piece is not None:
            package.texts.append(TextObject(element.get("ID", ""), piece))
    return paths


def _piece(element: Element) -> Piece | None:
    """A text object where it is printed: its boundary's origin, moved by its CTM to the first TextCode."""
    codes = [e for e in element if local_name(e) == "TextCode"]
    text = "".join((c.text or "").strip() for c in codes)
    if not text:
        return None
    place, scale = placement(element)
    x, y = place(number(codes[0].get("X")), number(codes[0].get("Y")))
    return Piece(x, y, 0.0, number(element.get("Size")) * scale, text)


def _box(root: Element) -> tuple[float, float] | None:
    """Width and height of the first PhysicalBox (a page's Area, or the document's PageArea)."""
    text = _first_text(root, "PhysicalBox")
    box = numbers(text or "", 4)
    return (box[2], box[3]) if box else None


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


def _first_text(root: Element, name: str) -> str | None:
    return next((e.text.strip() for e in _named(root.iter(), name) if e.text and e.text.strip()), None)


def _named(elements: Iterable[Element], name: str) -> Iterator[Element]:
    return (e for e in elements if local_name(e) == name)
