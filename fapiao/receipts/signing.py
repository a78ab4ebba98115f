"""Signed receipts: the receipt object, its canonical bytes, the SM2 signature, and verification.

The signature covers the canonical JSON of `receipt` (keys sorted, no whitespace, UTF-8, non-ASCII
kept), so anyone can re-serialise the parsed object and verify with the published public key.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from fapiao.crypto import sm2
from fapiao.crypto.exceptions import SignatureError

RECEIPT_TYPE = "fapiao-sentinel.verification-receipt"
CANONICALIZATION = "json: sorted keys, separators (',', ':'), UTF-8, ensure_ascii=false"


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def build(check: dict[str, Any], org_id: str, issued_at: datetime) -> dict[str, Any]:
    """The unsigned receipt of one decided check (`check` as JSON-ready values)."""
    return {
        "type": RECEIPT_TYPE,
        "version": 1,
        "receipt_id": str(uuid.uuid4()),
        "issued_at": issued_at.isoformat(),
        "issuer": "Fapiao Sentinel 发票查验",
        "org_id": org_id,
        "check": check,
    }


def sign(receipt: dict[str, Any], keys: sm2.Sm2KeyPair) -> dict[str, Any]:
    return {
        "receipt": receipt,
        "signature": {
            "algorithm": sm2.ALGORITHM,
            "user_id": sm2.USER_ID,
            "canonicalization": CANONICALIZATION,
            "public_key_fingerprint": sm2.fingerprint(keys.public),
            "public_key": sm2.public_hex(keys.public),
            "value": sm2.sign(keys, canonical(receipt)),
        },
    }


def verify(document: dict[str, Any], public: sm2.PublicKey | None = None) -> tuple[bool, str]:
    """(valid, explanation). With no `public` key, the key inside the document is used: that proves the
    document is intact, not who made it; pass the published key to prove that too."""
    try:
        receipt, signature = document["receipt"], document["signature"]
        if signature.get("algorithm") != sm2.ALGORITHM or signature.get("user_id") != sm2.USER_ID:
            return False, "unsupported signature algorithm or user id"
        embedded = sm2.load_public_key(str(signature["public_key"]))
    except (KeyError, TypeError, AttributeError, SignatureError) as exc:
        return False, f"not a signed receipt ({exc})"
    key = public or embedded
    if public is not None and public != embedded:
        return False, "signed with another key than the one given (fingerprint mismatch)"
    if not sm2.verify(key, canonical(receipt), str(signature.get("value", ""))):
        return False, "the signature does not match the receipt: it was altered or signed by someone else"
    origin = "the given public key" if public is not None else "the key inside the file (integrity only)"
    return True, f"valid SM2 signature by {sm2.fingerprint(key)}, checked with {origin}"
