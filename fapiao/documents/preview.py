"""The first page of a PDF as a small PNG, for the person who reviews what was read from it.

Runs where documents are read (a `fapiao.documents.pool` worker: pdfium on a stranger's file never
runs in the API). 108 dpi is enough to read every printed field beside the form; a palette of 64
colours keeps an invoice page around 50–150 KB. OFD and XML have no page renderer here: their review
shows the fields each source read (see docs/reviews.md).
"""

from __future__ import annotations

import io

import pypdfium2

from fapiao.documents.pdf_reader import render_scale

PREVIEW_SCALE = 1.5  # 108 dpi
MAX_PREVIEW_BYTES = 700_000  # under the pool's 1 MiB answer once base64-encoded


def page_png(data: bytes) -> bytes | None:
    """The first page of a PDF as PNG; None for other formats or a page that cannot be rendered."""
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
        for scale in (min(PREVIEW_SCALE, fit), min(1.0, fit)):
            image = page.render(scale=scale).to_pil().convert("RGB").quantize(colors=64)
            out = io.BytesIO()
            image.save(out, format="PNG", optimize=True)
            if out.tell() <= MAX_PREVIEW_BYTES:
                return out.getvalue()
        return None
    except pypdfium2.PdfiumError:
        return None
    finally:
        pdf.close()
