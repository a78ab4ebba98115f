"""Sealing the sensitive fields of results and alerts before they leave the worker (国密 SM4-GCM).

A sealed result keeps everything analytics and routing need in the clear (verdict, amounts, dates,
invoice code/number, org) and replaces the identifying fields:

- each party (seller, buyer) of the invoice face: name, tax id, address/phone and bank account go
  into one SM4-GCM envelope (`Party.sealed`), and `Party.ref` is the keyed HMAC-SM3 pseudonym of the
  tax id, which analytics group and filter by;
- the requester (often a taxpayer id or a person): `requester_ref` + `requester_sealed`;
- risk evidence naming a taxpayer (`buyer_tax_id`, `seller_tax_id`): sealed in place.

Envelopes are bound (associated data) to what they describe — a party to its role and pseudonym, the
requester to its pseudonym, evidence to its check and key — so a ciphertext moved elsewhere does not
decrypt. A party envelope depends only on (role, ref), so a rollup row can carry any envelope of its
seller and still open it. Opening restores the exact plaintext result (same JSON as before sealing).
Pure functions over the keys; the worker seals, the API opens for the owning organisation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Literal, cast

from fapiao.crypto.exceptions import DecryptionError
from fapiao.crypto.keys import CryptoKeys
from fapiao.crypto.result_integrity import tagged
from fapiao.crypto.sm3 import hmac_sm3, pseudonym
from fapiao.crypto.sm4 import VERSION, Sm4Keyring
from schemas.events import CheckResult, InvoiceFace, Party, RiskAlert, RiskAssessment

Role = Literal["seller", "buyer"]
SEALED_EVIDENCE = frozenset({"buyer_tax_id", "seller_tax_id"})
_PARTY_FIELDS = ("name", "tax_id", "address_phone", "bank_account")
PARTY_CACHE_SIZE = 8192  # sealed parties remembered per sealer (a seller recurs across many results)


@dataclass(frozen=True)
class FieldSealer:
    """The SM4 keyring (encrypt under the active key, decrypt under any held) and the HMAC key."""

    sm4: Sm4Keyring
    hmac_key: bytes
    # (role, name, tax id, address/phone, bank account) -> the sealed party. A seller recurs across
    # thousands of results: sealing it once saves the SM4 + HMAC work per result and gives its rows one
    # envelope, which ClickHouse compresses. Reusing a ciphertext reveals only that two parties are the
    # same, which their pseudonym already says; each sealer (process) still draws its own nonces.
    _parties: dict[tuple[str, ...], Party] = field(default_factory=dict, compare=False, repr=False)
    # (active key, requester) -> (ref, envelope): a requester recurs as a party does (the same reasoning;
    # its pseudonym already says two results have the same requester)
    _requesters: dict[tuple[str, str], tuple[str, str]] = field(
        default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def from_keys(cls, keys: CryptoKeys) -> FieldSealer:
        return cls(keys.sm4, keys.hmac_key)

    # -- references (pseudonyms) -----------------------------------------------------------------

    def tax_ref(self, tax_id: str | None) -> str:
        """The pseudonym analytics use for a taxpayer id ('' for none)."""
        return pseudonym(tax_id, self.hmac_key) if tax_id else ""

    def requester_ref(self, requester: str) -> str:
        """The pseudonym of a requester label (case-sensitive, any text)."""
        if not requester:
            return ""
        return hmac_sm3(self.hmac_key, b"requester\x00" + requester.encode("utf-8")).hex()

    # -- parties ---------------------------------------------------------------------------------

    def seal_party(self, party: Party, role: Role) -> Party:
        if party.sealed is not None:
            return party
        fields = {f: getattr(party, f) for f in _PARTY_FIELDS}
        key = (self.sm4.active, role, *(str(v) if v is not None else "\x00" for v in fields.values()))
        sealed = self._parties.get(key)
        if sealed is None:
            if len(self._parties) >= PARTY_CACHE_SIZE:
                self._parties.clear()
            sealed = Party(ref=self.tax_ref(party.tax_id), sealed=self.seal_fields(fields, role))
            self._parties[key] = sealed
        return sealed

    def seal_fields(self, fields: dict[str, str | None], role: Role) -> str:
        """The envelope of a party's fields (name, tax_id, address_phone, bank_account), bound to its
        role and the pseudonym of its tax id."""
        plain = json.dumps(
            {f: fields.get(f) for f in _PARTY_FIELDS}, ensure_ascii=False, separators=(",", ":")
        )
        return self.sm4.encrypt_text(plain, _party_context(role, self.tax_ref(fields.get("tax_id"))))

    def open_party(self, party: Party, role: Role) -> Party:
        if party.sealed is None:
            return party
        fields = self.open_party_fields(party.sealed, role, party.ref or "")
        return Party.model_validate(fields)

    def open_party_fields(self, envelope: str, role: Role, ref: str) -> dict[str, str | None]:
        """The plaintext fields of a party envelope (from a result, an alert or a ClickHouse row)."""
        fields = json.loads(self.sm4.decrypt_text(envelope, _party_context(role, ref)))
        if not isinstance(fields, dict) or set(fields) != set(_PARTY_FIELDS):
            raise DecryptionError("a party envelope of unexpected shape")
        if self.tax_ref(fields["tax_id"]) != ref:  # authenticated, so only a bug or another HMAC key
            raise DecryptionError("the party's pseudonym does not match its tax id (another HMAC key?)")
        return fields

    def party_name(self, envelope: str, role: Role, ref: str) -> str:
        """Just the name, for labels (top sellers): '' when there is no envelope."""
        return str(self.open_party_fields(envelope, role, ref)["name"]) if envelope else ""

    # -- requester -------------------------------------------------------------------------------

    def seal_requester(self, requester: str) -> tuple[str, str]:
        """(ref, envelope) of a requester label."""
        ref = self.requester_ref(requester)
        return ref, self.sm4.encrypt_text(requester, _requester_context(ref))

    def _sealed_requester(self, requester: str) -> tuple[str, str]:
        """`seal_requester`, each distinct requester sealed once per key and reused (as parties are)."""
        key = (self.sm4.active, requester)
        sealed = self._requesters.get(key)
        if sealed is None:
            if len(self._requesters) >= PARTY_CACHE_SIZE:
                self._requesters.clear()
            sealed = self._requesters[key] = self.seal_requester(requester)
        return sealed

    def open_requester(self, envelope: str, ref: str) -> str:
        if not envelope:
            return ""
        requester = self.sm4.decrypt_text(envelope, _requester_context(ref))
        if self.requester_ref(requester) != ref:
            raise DecryptionError("the requester's pseudonym does not match (another HMAC key?)")
        return requester

    # -- evidence --------------------------------------------------------------------------------

    def seal_evidence(self, evidence: dict[str, str], check_id: str) -> dict[str, str]:
        """Seals the taxpayer ids among the evidence (values already sealed stay as they are)."""
        return {
            k: self.sm4.encrypt_text(v, _evidence_context(check_id, k)) if _plain_id(k, v) else v
            for k, v in evidence.items()
        }

    def open_evidence(self, evidence: dict[str, str], check_id: str) -> dict[str, str]:
        return {
            k: self.sm4.decrypt_text(v, _evidence_context(check_id, k)) if _sealed_id(k, v) else v
            for k, v in evidence.items()
        }

    # -- results and alerts ----------------------------------------------------------------------

    def seal_result(self, result: CheckResult, changes: dict[str, object] | None = None) -> CheckResult:
        """The result (with `changes` to its fields other than those sealed, e.g. its risk, made in the
        same copy) as it may leave the trusted zone (Kafka checks.results, ClickHouse)."""
        if result.requester_sealed:
            return result.model_copy(update=changes) if changes else result
        ref, envelope = self._sealed_requester(result.requester)
        update: dict[str, object] = dict(changes or {})
        update |= {"requester": "", "requester_ref": ref, "requester_sealed": envelope}
        if result.invoice is not None:
            update["invoice"] = _with_parties(
                result.invoice,
                self.seal_party(result.invoice.seller, "seller"),
                self.seal_party(result.invoice.buyer, "buyer"),
            )
        risk = cast("RiskAssessment | None", update.get("risk", result.risk))
        if risk is not None and SEALED_EVIDENCE & risk.evidence.keys():
            update["risk"] = risk.model_copy(
                update={"evidence": self.seal_evidence(risk.evidence, str(result.check_id))}
            )
        return result.model_copy(update=update)

    def open_result(self, result: CheckResult) -> CheckResult:
        """The plaintext result (raises DecryptionError/UnknownKeyError when it cannot be opened)."""
        if not result.requester_sealed:
            return result
        update: dict[str, object] = {
            "requester": self.open_requester(result.requester_sealed, result.requester_ref),
            "requester_ref": "",
            "requester_sealed": "",
        }
        if result.invoice is not None:
            update["invoice"] = _with_parties(
                result.invoice,
                self.open_party(result.invoice.seller, "seller"),
                self.open_party(result.invoice.buyer, "buyer"),
            )
        if result.risk is not None and _sealed_evidence(result.risk.evidence):
            update["risk"] = result.risk.model_copy(
                update={"evidence": self.open_evidence(result.risk.evidence, str(result.check_id))}
            )
        return result.model_copy(update=update)

    def seal_alert(self, alert: RiskAlert, seller: Party | None) -> RiskAlert:
        """An alert naming its seller by pseudonym and envelope; `seller` is the (sealed or plain)
        seller of the result the alert is about."""
        update: dict[str, object] = {
            "evidence": self.seal_evidence(alert.evidence, str(alert.check_id)),
            "seller_tax_id": "",
        }
        if seller is not None:
            sealed = self.seal_party(seller, "seller")
            update |= {"seller_ref": sealed.ref or "", "seller_sealed": sealed.sealed or ""}
        return alert.model_copy(update=update)

    def open_alert(self, alert: RiskAlert) -> RiskAlert:
        if not alert.seller_sealed and not alert.seller_ref and not _sealed_evidence(alert.evidence):
            return alert
        seller_tax_id = alert.seller_tax_id
        if alert.seller_sealed:
            seller_tax_id = (
                self.open_party_fields(alert.seller_sealed, "seller", alert.seller_ref)["tax_id"] or ""
            )
        return alert.model_copy(
            update={
                "seller_tax_id": seller_tax_id,
                "seller_ref": "",
                "seller_sealed": "",
                "evidence": self.open_evidence(alert.evidence, str(alert.check_id)),
            }
        )


def _with_parties(face: InvoiceFace, seller: Party, buyer: Party) -> InvoiceFace:
    return face.model_copy(update={"seller": seller, "buyer": buyer})


def _sealed_id(key: str, value: str) -> bool:
    return key in SEALED_EVIDENCE and value.startswith(f"{VERSION}:")


def _plain_id(key: str, value: str) -> bool:
    return key in SEALED_EVIDENCE and bool(value) and not _sealed_id(key, value)


def _sealed_evidence(evidence: dict[str, str]) -> bool:
    return any(_sealed_id(k, v) for k, v in evidence.items())


def _party_context(role: Role, ref: str) -> str:
    return f"party:{role}:{ref}"


def _requester_context(ref: str) -> str:
    return f"requester:{ref}"


def _evidence_context(check_id: str, key: str) -> str:
    return f"evidence:{check_id}:{key}"


@dataclass(frozen=True)
class ResultFinisher:
    """What the worker does to every result and alert it publishes: seal them (unless field encryption
    is off, `sealer` None) and tag results (HMAC-SM3 over the form published)."""

    sealer: FieldSealer | None
    hmac_key: bytes

    @classmethod
    def from_keys(cls, keys: CryptoKeys, *, encrypt: bool) -> ResultFinisher:
        return cls(FieldSealer.from_keys(keys) if encrypt else None, keys.hmac_key)

    def seal(self, result: CheckResult, changes: dict[str, object] | None = None) -> CheckResult:
        """The result with `changes` (its risk, …), sealed: one copy."""
        if self.sealer is not None:
            return self.sealer.seal_result(result, changes)
        return result.model_copy(update=changes) if changes else result

    def result(self, result: CheckResult) -> tuple[CheckResult, bytes]:
        """Sealed, then tagged: the tagged result and its JSON, from one serialisation."""
        return tagged(self.seal(result), self.hmac_key)

    def alert(self, alert: RiskAlert, seller: Party | None) -> RiskAlert:
        return self.sealer.seal_alert(alert, seller) if self.sealer is not None else alert
