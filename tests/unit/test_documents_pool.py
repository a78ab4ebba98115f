"""The document pool: readings as in-process, and hostile files stopped by the worker's memory and time
limits (the worker is replaced), never by the caller's process."""

from __future__ import annotations

import resource
from collections.abc import Iterator
from pathlib import Path

import pytest

from fapiao.documents import DocumentError, read_document
from fapiao.documents.pool import DocumentPool, PoolClosed, PoolLimits
from tests.hostile_documents import inflating_pdf

REAL = Path(__file__).parent.parent / "fixtures" / "real"


@pytest.fixture(scope="module")
def pool() -> Iterator[DocumentPool]:
    documents = DocumentPool(PoolLimits(workers=1, memory_bytes=384 << 20, seconds=60))
    yield documents
    documents.close()


def test_a_worker_reads_what_the_caller_would(pool: DocumentPool) -> None:
    for name in ("sd-template-tags-1.ofd", "sd-spaced-text.pdf"):
        data = (REAL / name).read_bytes()
        assert pool.read(name, data, "org-a").to_dict() == read_document(name, data).to_dict()
    with pytest.raises(DocumentError) as refused:
        pool.read("a.pdf", b"%PDF-1.7 nothing else", "org-a")
    assert refused.value.code == "pdf_damaged"


def test_a_decompression_bomb_stops_at_the_workers_memory_limit(pool: DocumentPool) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(DocumentError) as refused:
        pool.read("bomb.pdf", inflating_pdf(1024), "org-a")  # inflates to 1 GiB; 3.1 GiB read in-process
    assert refused.value.code == "document_too_complex"
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 64  # the 1 MiB upload and its copy, not the inflated stream
    name = "sd-page-labels-tags.ofd"
    assert pool.read(name, (REAL / name).read_bytes()).value("invoice_number") == "25924000000001260164"


def test_a_document_over_time_has_its_worker_killed_and_replaced() -> None:
    documents = DocumentPool(PoolLimits(workers=1, seconds=0.01))  # no PDF is read in 10 ms
    try:
        documents.start()
        (first,) = documents.pids()
        with pytest.raises(DocumentError) as refused:
            documents.read("a.pdf", (REAL / "sd-spaced-text.pdf").read_bytes())
        assert refused.value.code == "document_too_complex"
        (second,) = documents.pids()
        assert second != first
        documents.limits = PoolLimits(workers=1, seconds=60)
        assert documents.read("a.ofd", (REAL / "older-attachment.ofd").read_bytes()).value("invoice_code")
    finally:
        documents.close()


def test_a_closed_pool_refuses_instead_of_waiting_for_ever() -> None:
    documents = DocumentPool(PoolLimits(workers=1))
    documents.close()
    with pytest.raises(PoolClosed):
        documents.read("a.ofd", (REAL / "older-attachment.ofd").read_bytes())
