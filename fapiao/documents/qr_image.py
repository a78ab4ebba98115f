"""Finding and decoding QR codes in a rendered page image (zxing-cpp)."""

from __future__ import annotations

from dataclasses import dataclass

import zxingcpp
from PIL.Image import Image


@dataclass(frozen=True)
class QrScan:
    texts: tuple[str, ...]  # decoded QR strings, in the order found
    unreadable: int  # QR symbols seen but not decodable (damaged, blurred)


def scan_qr(image: Image) -> QrScan:
    results = zxingcpp.read_barcodes(
        image, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode), return_errors=True
    )
    texts = tuple(r.text for r in results if r.valid and r.text)
    return QrScan(texts, sum(1 for r in results if not r.valid))
