"""The API's guards without a server: token buckets, the body limit, receipt signing."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fapiao.crypto import sm2
from fapiao.receipts import pdf, signing
from services.api.body_limit import BodyLimit
from services.api.rate_limit import TokenBuckets


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_allows_a_burst_then_refills_evenly() -> None:
    clock = Clock()
    buckets = TokenBuckets(clock=clock)
    assert [buckets.take("k", 3) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("k", 3) == pytest.approx(20.0)  # 3 a minute: one every 20 s
    assert buckets.take("other", 3) == 0.0  # per caller
    clock.now = 20.0
    assert buckets.take("k", 3) == 0.0
    assert buckets.take("k", 3) > 0


def test_token_buckets_stay_bounded() -> None:
    buckets = TokenBuckets(max_callers=10)
    for i in range(100):
        buckets.take(f"k{i}", 5)
    assert len(buckets._buckets) == 10


def _app() -> TestClient:
    app = FastAPI()

    @app.post("/echo")
    async def echo(body: dict[str, str]) -> dict[str, int]:
        return {"keys": len(body)}

    app.add_middleware(BodyLimit, max_body_bytes=1024, max_upload_bytes=4096)
    return TestClient(app)


def test_body_limit_declared_streamed_and_by_type() -> None:
    client = _app()
    small = client.post("/echo", json={"a": "b"})
    assert small.status_code == 200
    big = b'{"a": "' + b"x" * 2000 + b'"}'
    declared = client.post("/echo", content=big, headers={"content-type": "application/json"})
    assert declared.status_code == 413 and declared.json()["detail"]["msg_zh"]

    def chunks():  # type: ignore[no-untyped-def]
        for start in range(0, len(big), 256):
            yield big[start : start + 256]

    streamed = client.post("/echo", content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413
    assert (
        BodyLimit(FastAPI(), max_body_bytes=1, max_upload_bytes=9).limit_for(b"multipart/form-data; b=x") == 9
    )
    assert BodyLimit(FastAPI(), max_body_bytes=1, max_upload_bytes=9).limit_for(b"application/json") == 1


def _document() -> tuple[dict, sm2.Sm2KeyPair]:  # type: ignore[type-arg]
    keys = sm2.Sm2KeyPair.generate()
    from datetime import UTC, datetime

    check = {
        "check_id": "c1",
        "verdict": "consistent",
        "verdict_zh": "查验结果一致",
        "invoice_number": "12345678",
    }
    return signing.sign(signing.build(check, "org-1", datetime.now(UTC)), keys), keys


def test_receipts_verify_and_detect_tampering_and_foreign_keys() -> None:
    document, keys = _document()
    assert signing.verify(document, keys.public)[0]
    assert signing.verify(document)[0]  # integrity with the embedded key
    tampered = {**document, "receipt": {**document["receipt"], "org_id": "org-2"}}
    assert not signing.verify(tampered, keys.public)[0]
    other = sm2.Sm2KeyPair.generate()
    assert not signing.verify(document, other.public)[0]  # made with another key than the published one
    forged = signing.sign(document["receipt"], other)
    assert not signing.verify(forged, keys.public)[0]
    assert not signing.verify({"receipt": {}})[0]


def test_receipt_canonical_json_is_stable() -> None:
    assert signing.canonical({"b": 1, "a": "发票"}) == '{"a":"发票","b":1}'.encode()


def test_receipt_pdf_renders_with_the_builtin_cjk_font() -> None:
    document, _ = _document()
    body = pdf.render(document)
    assert body.startswith(b"%PDF") and b"STSong-Light" in body
