"""The OFD first-page preview (fapiao.documents.ofd_preview through preview.page_png): real 数电 OFDs and a
generated layout draw a page of the PhysicalBox's aspect ratio with the invoice number printed where its
TextObject is; a huge PhysicalBox stays under the pixel cap; a broken package gives no picture."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image

from fapiao.demo.documents import sample_invoices
from fapiao.documents.ofd_package import read_package
from fapiao.documents.ofd_preview import MAX_PREVIEW_PIXELS, PREVIEW_PX_PER_MM
from fapiao.documents.ofd_reader import OFD_LIMITS
from fapiao.documents.preview import page_png
from fapiao.documents.safe_zip import SafeZip
from tests.document_layouts import _member, digital_ofd, with_member

REAL = Path(__file__).parent.parent / "fixtures" / "real"
TAGGED = ["sd-template-tags-1.ofd", "sd-template-tags-2.ofd", "sd-page-labels-tags.ofd"]


def _number_box(ofd: bytes) -> tuple[tuple[float, float], tuple[float, float, float, float]]:
    """The page size (mm) and where the invoice number's text is printed (mm: left, top, right, baseline)."""
    with SafeZip(io.BytesIO(ofd), OFD_LIMITS) as archive:
        package = read_package(archive)
    ids = set(package.tags["InvoiceNo"])
    piece = next(t.piece for t in package.texts[: package.first_page_texts] if t.object_id in ids)
    return package.page_mm, (piece.x, piece.y - piece.size, piece.x + 2 * piece.size, piece.y)


def _check(ofd: bytes) -> Image.Image:
    png = page_png(ofd)
    assert png is not None
    image = Image.open(io.BytesIO(png))
    image.load()
    (w_mm, h_mm), (left, top, right, bottom) = _number_box(ofd)
    assert abs(image.width / image.height - w_mm / h_mm) < 0.01
    assert image.width == pytest.approx(w_mm * PREVIEW_PX_PER_MM, abs=2)
    gray = image.convert("L")
    k = PREVIEW_PX_PER_MM
    number = gray.crop((round(left * k), round(top * k), round(right * k), round(bottom * k) + 1))
    assert min(number.getdata()) < 100  # the number's first digits are inked
    blank = gray.crop((0, image.height - 3, 40, image.height))  # the page's bottom-left corner: margin
    assert min(blank.getdata()) > 200
    return image


@pytest.mark.parametrize("name", TAGGED)
def test_real_digital_ofd_page_is_drawn(name: str) -> None:
    _check((REAL / name).read_bytes())


def test_generated_layout_page_is_drawn() -> None:
    _check(digital_ofd(sample_invoices()["32"]))


def test_huge_physical_box_stays_under_the_pixel_cap() -> None:
    ofd = digital_ofd(sample_invoices()["32"])
    for member in ("Doc_0/Document.xml", "Doc_0/Pages/Page_0/Content.xml"):
        text = _member(ofd, member).decode("utf-8")
        text = re.sub(r"<ofd:PhysicalBox>[^<]*<", "<ofd:PhysicalBox>0 0 900000 300000<", text)
        ofd = with_member(ofd, member, text.encode("utf-8"))
    png = page_png(ofd)
    assert png is not None
    image = Image.open(io.BytesIO(png))
    assert image.width * image.height <= MAX_PREVIEW_PIXELS
    assert abs(image.width / image.height - 3.0) < 0.01


@pytest.mark.parametrize(
    "data",
    [b"PK\x03\x04 not a zip at all", with_member(digital_ofd(sample_invoices()["32"]), "OFD.xml", b"<ofd")],
    ids=["not-a-zip", "broken-ofd-xml"],
)
def test_broken_ofd_gives_no_picture(data: bytes) -> None:
    assert page_png(data) is None
