"""Hostile documents built byte by byte (no library would write them): tests of the readers' bounds."""

from __future__ import annotations


def pdf_bytes(objects: list[bytes]) -> bytes:
    """A PDF of these objects (1 0 obj is the catalog), with a correct cross-reference table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def big_page_pdf(points: int = 14_400, pages: int = 1) -> bytes:
    """A ~1.3 KB PDF whose pages are `points` x `points` (14,400 pt = 5 m, the largest PDF allows),
    filled with a pattern of rectangles: rendering it at 144 dpi asks for 0.8 gigapixels a page."""
    drawing = b"".join(b"%d %d 1800 1800 re f\n" % (x * 3600, y * 3600) for x in range(4) for y in range(4))
    content = b"<< /Length %d >>\nstream\n" % len(drawing) + drawing + b"\nendstream"
    kids = b" ".join(b"%d 0 R" % (3 + i) for i in range(pages))
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents %d 0 R >>"
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    objects.append(b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages))
    objects += [page % (points, points, 3 + pages) for _ in range(pages)]
    objects.append(content)
    return pdf_bytes(objects)


def inflating_pdf(megabytes: int = 1024) -> bytes:
    """A ~1 KB-per-MiB PDF whose one content stream inflates to `megabytes` MiB of blanks (a decompression
    bomb for any reader that inflates a stream whole: the reader of main took 35 s and 3.1 GiB on 1 GiB).

    Built without compressing a gigabyte: after a full flush, deflating the same 1 MiB gives the same
    bytes again, so one flushed block is repeated; the zlib trailer is the Adler-32 of the whole."""
    import struct
    import zlib

    blanks = b" " * (1 << 20)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = packer.compress(blanks) + packer.flush(zlib.Z_FULL_FLUSH)
    checksum = 1
    for _ in range(megabytes):
        checksum = zlib.adler32(blanks, checksum)
    deflated = b"\x78\xda" + block * megabytes + packer.flush(zlib.Z_FINISH) + struct.pack(">I", checksum)
    stream = b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(deflated) + deflated + b"\nendstream"
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>"
    pages = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
    return pdf_bytes([b"<< /Type /Catalog /Pages 2 0 R >>", pages, page, stream])
