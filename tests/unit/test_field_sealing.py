"""Sealing results and alerts (fapiao.crypto.protect): round trips, keys, tampering, pseudonyms."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from fapiao.crypto.exceptions import DecryptionError, UnknownKeyError
from fapiao.crypto.protect import FieldSealer
from fapiao.crypto.result_integrity import result_is_intact, tag_result
from fapiao.crypto.sm3 import pseudonym
from fapiao.crypto.sm4 import Sm4Keyring
from fapiao.domain.results import build_result
from fapiao.domain.verification import Decision, invoice_face
from schemas.events import CheckResult, InvoiceStatus, Party, RiskAlert, RiskAssessment, Verdict
from tests.factories import BUYER, SELLER, check_of, issued

K1, K2 = bytes(range(16)), bytes(range(16, 32))
HMAC_KEY = b"h" * 32


def sealer(
    keys: dict[str, bytes] | None = None, active: str = "k1", hmac_key: bytes = HMAC_KEY
) -> FieldSealer:
    return FieldSealer(Sm4Keyring(keys or {"k1": K1}, active), hmac_key)


def consistent(**party_fields: str) -> CheckResult:
    invoice = issued()
    if party_fields:
        invoice = invoice.model_copy(update={"buyer": BUYER.model_copy(update=party_fields)})
    result = build_result(
        check_of(invoice),
        Decision(Verdict.CONSISTENT, invoice=invoice_face(invoice, InvoiceStatus.NORMAL)),
        decided_at=datetime(2026, 11, 25, 3, 0, 1, tzinfo=UTC),
        check_count=1,
    )
    risk = RiskAssessment(
        score=70,
        severity="high",
        reasons=("round_trip_buyer",),
        evidence={"buyer_tax_id": str(BUYER.tax_id), "seller_tax_id": str(SELLER.tax_id), "run": "6"},
    )
    return result.model_copy(update={"risk": risk})


def test_changes_made_in_the_sealing_copy_are_sealed_as_in_a_copied_result() -> None:
    """The risk stage hands its risk and enrichment to seal_result (one copy of the result instead of
    two): the same sealed result as sealing a copy that has them, the evidence sealed too."""
    s = sealer()
    scored = consistent()
    plain = scored.model_copy(update={"risk": None})
    changes: dict[str, object] = {"risk": scored.risk, "enrichment": {"region": "北京"}}
    one = s.seal_result(plain, changes)
    two = s.seal_result(plain.model_copy(update=changes))
    assert one.risk is not None and two.risk is not None
    assert one.risk.evidence["buyer_tax_id"].startswith("v1:k1:") and one.risk.evidence["run"] == "6"
    assert s.open_result(one) == s.open_result(two) == plain.model_copy(update=changes)
    fresh_nonces = {"risk": None}  # the evidence envelopes differ by their nonces only (opened above)
    assert one.model_copy(update=fresh_nonces) == two.model_copy(update=fresh_nonces)
    assert s.seal_result(one, {"enrichment": {}}) == one.model_copy(update={"enrichment": {}})


def test_a_sealed_result_carries_no_plaintext_and_opens_to_the_exact_original() -> None:
    s = sealer()
    plain = consistent(
        bank_account="中国银行北京分行 1234567890123", address_phone="北京市朝阳区 010-12345678"
    )
    sealed = s.seal_result(plain)
    wire = sealed.model_dump_json()
    for secret in (SELLER.name, SELLER.tax_id, BUYER.name, BUYER.tax_id, "1234567890123", "010-12345678"):
        assert str(secret) not in wire
    assert sealed.requester == "" and sealed.requester_ref and sealed.requester_sealed.startswith("v1:k1:")
    assert sealed.invoice is not None and sealed.invoice.seller.ref == pseudonym(str(SELLER.tax_id), HMAC_KEY)
    assert sealed.invoice.buyer.ref == pseudonym(str(BUYER.tax_id), HMAC_KEY)
    assert sealed.risk is not None and sealed.risk.evidence["run"] == "6"  # not an identifier: stays
    reopened = s.open_result(CheckResult.model_validate_json(wire))
    assert reopened == plain
    assert reopened.model_dump_json() == plain.model_dump_json()
    assert s.seal_result(sealed) == sealed  # sealing twice changes nothing


def test_results_without_a_face_and_buyers_without_a_tax_id_round_trip() -> None:
    s = sealer()
    request = check_of(issued(), requester="报销系统-张三")
    empty = build_result(
        request, Decision(Verdict.NOT_FOUND), decided_at=datetime(2026, 11, 25, tzinfo=UTC), check_count=1
    )
    assert s.open_result(s.seal_result(empty)) == empty
    person = consistent().model_copy(
        update={
            "invoice": consistent().invoice.model_copy(update={"buyer": Party(name="张三")})  # type: ignore[union-attr]
        }
    )
    sealed = s.seal_result(person)
    assert sealed.invoice is not None and sealed.invoice.buyer.ref == "" and sealed.invoice.buyer.sealed
    assert s.open_result(sealed) == person


def test_the_integrity_tag_covers_the_sealed_form() -> None:
    s = sealer()
    tagged = tag_result(s.seal_result(consistent()), HMAC_KEY)
    assert result_is_intact(CheckResult.model_validate_json(tagged.model_dump_json()), HMAC_KEY)


def test_a_tampered_or_moved_ciphertext_is_refused() -> None:
    s = sealer()
    sealed = s.seal_result(consistent())
    assert sealed.invoice is not None
    seller, buyer = sealed.invoice.seller, sealed.invoice.buyer
    envelope = str(seller.sealed)
    body = envelope.rsplit(":", 1)
    flipped = body[0] + ":" + ("A" if body[1][0] != "A" else "B") + body[1][1:]
    with pytest.raises(DecryptionError):
        s.open_party(seller.model_copy(update={"sealed": flipped}), "seller")
    with pytest.raises(DecryptionError):  # the seller's envelope under the buyer's pseudonym
        s.open_party(buyer.model_copy(update={"sealed": seller.sealed}), "buyer")
    with pytest.raises(DecryptionError):  # the seller's envelope presented as a buyer
        s.open_party(seller, "buyer")
    other = consistent()
    evidence = dict(sealed.risk.evidence)  # type: ignore[union-attr]
    with pytest.raises(DecryptionError):  # evidence is bound to its check
        s.open_evidence(evidence, str(other.check_id))


def test_a_wrong_or_retired_key_id_is_refused_and_rotation_keeps_old_envelopes_readable() -> None:
    old = sealer({"k1": K1}, "k1")
    sealed = old.seal_result(consistent())
    with pytest.raises(UnknownKeyError):
        sealer({"k2": K2}, "k2").open_result(sealed)
    with pytest.raises(DecryptionError):  # same id, another key
        sealer({"k1": K2}, "k1").open_result(sealed)
    rotated = sealer({"k1": K1, "k2": K2}, "k2")
    assert rotated.open_result(sealed) == old.open_result(sealed)  # the old key is still held
    fresh = rotated.seal_result(old.open_result(sealed))
    assert fresh.requester_sealed.startswith("v1:k2:")
    assert rotated.sm4.key_id_of(str(fresh.invoice.seller.sealed)) == "k2"  # type: ignore[union-attr]


def test_pseudonyms_are_stable_across_seals_and_keyed() -> None:
    a, b = sealer(), sealer()
    one, two = a.seal_result(consistent()), b.seal_result(consistent())
    assert one.invoice is not None and two.invoice is not None
    assert one.invoice.seller.ref == two.invoice.seller.ref  # same key, same taxpayer -> same ref
    assert one.invoice.seller.sealed != two.invoice.seller.sealed  # fresh nonce per envelope
    assert one.requester_ref == two.requester_ref
    other = sealer(hmac_key=b"x" * 32).seal_result(consistent())
    assert other.invoice is not None and other.invoice.seller.ref != one.invoice.seller.ref
    assert other.requester_ref != one.requester_ref


def test_an_opened_envelope_under_another_hmac_key_is_refused() -> None:
    sealed = sealer().seal_result(consistent())
    with pytest.raises(DecryptionError):
        sealer(hmac_key=b"x" * 32).open_result(sealed)


def test_alerts_seal_the_seller_and_evidence_and_open_again() -> None:
    s = sealer()
    result = s.seal_result(consistent())
    assert result.invoice is not None and result.risk is not None
    alert = RiskAlert(
        alert_id=uuid.uuid4(),
        check_id=result.check_id,
        invoice_key=result.invoice_key,
        seller_tax_id="",
        raised_at=datetime(2026, 11, 25, tzinfo=UTC),
        score=70,
        severity="high",
        reasons=result.risk.reasons,
        evidence=result.risk.evidence,  # already sealed with the result: not sealed twice
    )
    sealed = s.seal_alert(alert, result.invoice.seller)
    wire = sealed.model_dump_json()
    assert str(SELLER.tax_id) not in wire and str(BUYER.tax_id) not in wire and SELLER.name not in wire
    assert sealed.seller_ref == pseudonym(str(SELLER.tax_id), HMAC_KEY)
    opened = s.open_alert(RiskAlert.model_validate_json(wire))
    assert opened.seller_tax_id == SELLER.tax_id and opened.seller_sealed == "" and opened.seller_ref == ""
    assert opened.evidence["buyer_tax_id"] == BUYER.tax_id and opened.evidence["run"] == "6"
    plain_alert = alert.model_copy(update={"seller_tax_id": str(SELLER.tax_id), "evidence": {"run": "6"}})
    assert s.open_alert(plain_alert) == plain_alert  # nothing sealed: unchanged


def test_issued_invoices_refuse_sealed_parties_and_parties_need_a_name() -> None:
    sealed_seller = sealer().seal_party(SELLER, "seller")
    with pytest.raises(ValueError):
        issued().model_validate(issued().model_dump() | {"seller": sealed_seller.model_dump()})
    with pytest.raises(ValueError):
        Party(name="")
    with pytest.raises(ValueError):
        Party(name="x", sealed="v1:k1:a:b")


def test_a_sealer_seals_each_party_once_and_bounds_what_it_remembers(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from fapiao.crypto import protect

    s = sealer()
    first, again = s.seal_party(SELLER, "seller"), s.seal_party(SELLER, "seller")
    assert again is first  # same party, same role: the remembered envelope
    as_buyer = s.seal_party(SELLER, "buyer")
    assert as_buyer.sealed != first.sealed  # bound to its role: sealed apart
    moved = SELLER.model_copy(update={"address_phone": "北京市朝阳区 010-1"})
    assert s.seal_party(moved, "seller").sealed != first.sealed  # any field differs: sealed apart
    assert s.open_party(s.seal_party(moved, "seller"), "seller") == moved
    assert sealer().seal_party(SELLER, "seller").sealed != first.sealed  # another sealer, its own nonce
    monkeypatch.setattr(protect, "PARTY_CACHE_SIZE", 2)
    bounded = sealer()
    for i in range(5):
        bounded.seal_party(SELLER.model_copy(update={"name": f"卖方{i}"}), "seller")
    assert len(bounded._parties) <= 2


def test_a_sealer_seals_each_requester_once_per_key_and_the_envelope_opens() -> None:
    s = sealer({"k1": K1, "k2": K2}, "k1")
    one, two = s.seal_result(consistent()), s.seal_result(consistent())
    assert one.requester_sealed == two.requester_sealed and one.requester_ref == two.requester_ref
    assert s.open_requester(one.requester_sealed, one.requester_ref) == consistent().requester != ""
    assert sealer().seal_result(consistent()).requester_sealed != one.requester_sealed  # own nonces
    s.sm4.active = "k2"  # rotated
    rotated = s.seal_result(consistent())  # a new active key: a new envelope under it
    assert rotated.requester_sealed.startswith("v1:k2:") and rotated.requester_ref == one.requester_ref
