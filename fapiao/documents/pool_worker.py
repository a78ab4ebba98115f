"""The document-reading worker process of `fapiao.documents.pool` (`python -m fapiao.documents.pool_worker
MEMORY_BYTES`): it limits its own address space, then answers requests on stdin/stdout until stdin
closes.

Framing: a request is `len(name) name len(data) data` (4-byte big-endian lengths); an answer is
`len(json) json`, the JSON being `{"ok": Extraction.to_dict()}` or `{"error": code}`. A name that
starts with PREVIEW asks for the first page as PNG instead: `{"png": base64}` or `{"png": null}`.
JSON, not pickle: the worker has run pdfium on a stranger's file, so what it says is data, never code.
"""

from __future__ import annotations

import json
import resource
import struct
import sys
from typing import BinaryIO

_LENGTH = struct.Struct(">I")
PREVIEW = "\x00preview\x00"  # no file name starts with NUL


def read_frame(stream: BinaryIO) -> bytes | None:
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None
    (size,) = _LENGTH.unpack(head)
    body = stream.read(size)
    return body if len(body) == size else None


def write_frame(stream: BinaryIO, body: bytes) -> None:
    stream.write(_LENGTH.pack(len(body)) + body)
    stream.flush()


def answer(name: str, data: bytes) -> dict[str, object]:
    from fapiao.documents.exceptions import DocumentError
    from fapiao.documents.reader import read_document

    if name.startswith(PREVIEW):
        return preview(data)
    try:
        return {"ok": read_document(name, data).to_dict()}
    except DocumentError as exc:
        return {"error": exc.code}
    except MemoryError:
        return {"error": "document_too_complex"}
    except Exception:
        return {"error": "document_too_complex"}


def preview(data: bytes) -> dict[str, object]:
    import base64

    from fapiao.documents.preview import page_png

    try:
        png = page_png(data)
    except Exception:  # a page pdfium cannot draw within the limits: no picture, the fields still show
        png = None
    return {"png": base64.b64encode(png).decode("ascii") if png else None}


def main() -> None:
    memory = int(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    import fapiao.documents.reader  # noqa: F401 - loaded once, under the limit, before the first request

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while (name := read_frame(stdin)) is not None and (data := read_frame(stdin)) is not None:
        reply = answer(name.decode("utf-8", "replace"), data)
        del data
        write_frame(stdout, json.dumps(reply, ensure_ascii=False).encode("utf-8"))


if __name__ == "__main__":
    main()
