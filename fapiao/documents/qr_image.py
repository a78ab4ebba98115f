"""Finding and decoding QR codes in images (zxing-cpp): a rendered page, an image file inside an OFD, a
base64 image in invoice XML.

Images come from strangers, so their size is checked from the header before anything is decoded: an
image declaring more than MAX_IMAGE_PIXELS (a decompression bomb, or a page scan far beyond what a QR
code needs) is not decoded, and formats other than PNG, JPEG, BMP, GIF and TIFF are not opened.
"""

from __future__ import annotations

import base64
import binascii
import io
from dataclasses import dataclass

import zxingcpp
from PIL import Image as PILImage
from PIL.Image import Image

MAX_IMAGE_PIXELS = 16_000_000  # a 4000 x 4000 image; an A4 page scanned at 400 dpi is ~15.5 Mpx
_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "TIFF")
_MAX_BASE64_CHARS = 4 * 1024 * 1024


@dataclass(frozen=True)
class QrScan:
    texts: tuple[str, ...]  # decoded QR strings, in the order found
    unreadable: int  # QR symbols seen but not decodable (damaged, blurred)


NOTHING = QrScan((), 0)


def scan_qr(image: Image) -> QrScan:
    results = zxingcpp.read_barcodes(
        image, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode), return_errors=True
    )
    texts = tuple(r.text for r in results if r.valid and r.text)
    return QrScan(texts, sum(1 for r in results if not r.valid))


def scan_image_bytes(data: bytes) -> QrScan:
    """QR codes in an encoded image; nothing for an image that is not one, too big, or damaged."""
    try:
        with PILImage.open(io.BytesIO(data), formats=_FORMATS) as image:
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                return NOTHING
            image.load()
            return scan_qr(image.convert("L"))
    except (OSError, ValueError, SyntaxError, PILImage.DecompressionBombError, EOFError):
        return NOTHING


def scan_base64_image(text: str) -> QrScan:
    """QR codes in a base64-encoded image (how 百望 OFD invoice XML carries its GraphCode)."""
    if len(text) > _MAX_BASE64_CHARS:
        return NOTHING
    try:
        data = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        return NOTHING
    return scan_image_bytes(data)
