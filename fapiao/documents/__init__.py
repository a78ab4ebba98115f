"""Reading e-invoice documents (PDF, OFD, 数电 XML) into fields, each with where it was found.

Pure functions of the file's bytes: `read_document(name, data)` returns an `Extraction` or raises
`DocumentError` with a stable code and Chinese and English messages.
"""

from fapiao.documents.exceptions import DocumentError
from fapiao.documents.model import Disagreement, Extraction, Found, Note, Source
from fapiao.documents.reader import DOCUMENT_SUFFIXES, document_kind, read_document

__all__ = [
    "DOCUMENT_SUFFIXES",
    "Disagreement",
    "DocumentError",
    "Extraction",
    "Found",
    "Note",
    "Source",
    "document_kind",
    "read_document",
]
