"""The document-reading worker process of `fapiao.documents.pool` (`python -m fapiao.documents.pool_worker
MEMORY_BYTES`): it limits its own address space, then answers requests on stdin/stdout until stdin
closes.

Framing: a request is `len(name) name len(data) data` (4-byte big-endian lengths); an answer is
`len(json) json`, the JSON being `{"ok": Extraction.to_dict()}` or `{"error": code}`. JSON, not pickle:
the worker has run pdfium on a stranger's file, so what it says is data, never code.
"""

from __future__ import annotations

import json
import resource
import struct
import sys
from typing import BinaryIO

_LENGTH = struct.Struct(">I")


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

    try:
        return {"ok": read_document(name, data).to_dict()}
    except DocumentError as exc:
        return {"error": exc.code}
    except MemoryError:
        return {"error": "document_too_complex"}
    except Exception:
        return {"error": "document_too_complex"}


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
