"""The first page of a PDF as a small PNG, for the person who reviews what was read from it.

Runs where documents are read (a `fapiao.documents.pool` worker: pdfium on a stranger's file never
runs in the API). 108 dpi is enough to read every printed field beside the form; a palette of 64
colours keeps an invoice page around 50–150 KB. An OFD's first page is drawn from its parsed objects
(`ofd_preview`, a likeness at the same scale); XML has no page: its review shows the fields each source
read (see docs/reviews.md).
"""

from __future__ import annotations

import io
from collections.abc import Iterable

import pypdfium2
from PIL.Image import Image

from fapiao.documents.ofd_preview import ofd_page_image
from fapiao.documents.pdf_reader import render_scale

PREVIEW_SCALE = 1.5  # 108 dpi
MAX_PREVIEW_BYTES = 700_000  # under the pool's 1 MiB answer once base64-encoded


def page_png(data: bytes) -> bytes | None:
    """The first page of a PDF or OFD as PNG; None for other formats or a page that cannot be rendered."""
    if data[:4] == b"PK\x03\x04":
        ofd = ofd_page_image(data)
        return _png([ofd] if ofd is not None else [])
    if not data.lstrip()[:5].startswith(b"%PDF-"):
        return None
    try:
        pdf = pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError:
        return None
    try:
        if len(pdf) == 0:
            return None
        page = pdf[0]
        fit = render_scale(*page.get_size())
        if fit is None:
            return None
        return _png(page.render(scale=min(s, fit)).to_pil() for s in (PREVIEW_SCALE, 1.0))
    except pypdfium2.PdfiumError:
        return None
    finally:
        pdf.close()


def _png(images: Iterable[Image]) -> bytes | None:
    """The first of the images (largest first) whose 64-colour PNG fits MAX_PREVIEW_BYTES."""
    for image in images:
        out = io.BytesIO()
        image.convert("RGB").quantize(colors=64).save(out, format="PNG", optimize=True)
        if out.tell() <= MAX_PREVIEW_BYTES:
            return out.getvalue()
    return None
