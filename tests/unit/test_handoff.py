"""The in-process hand-off of decoded events between stages (streams/handoff.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from fapiao.crypto.keys import CryptoKeys
from fapiao.crypto.protect import ResultFinisher
from fapiao.crypto.result_integrity import result_is_intact, tagged
from fapiao.domain import register
from fapiao.domain.check_context import check_context
from fapiao.domain.results import build_result
from fapiao.domain.verification import Decision, invoice_face
from fapiao.risk.enrichment import enrich
from fapiao.risk.rules import DEFAULT_RULES
from fapiao.risk.scoring import assess
from fapiao.settings import Settings
from schemas.events import CheckResult, CheckVerified, InvoiceStatus, Verdict
from streams.handoff import Handoff, handoff_of
from tests.factories import check_of, issued


def _verified() -> CheckVerified:
    invoice = issued(amount="1000.00", tax="130.00")
    request = check_of(invoice, requester="员工 42")
    entry = register.apply_issued(None, invoice)
    decision = Decision(Verdict.CONSISTENT, invoice=invoice_face(invoice, InvoiceStatus.NORMAL))
    result = build_result(request, decision, decided_at=datetime.now(UTC), check_count=1)
    return CheckVerified(result=result, context=check_context(entry, request, decision.verdict))


def test_an_event_taken_by_its_bytes_is_the_one_they_decode_to() -> None:
    """What makes a hit exact: the event handed over equals the event its published bytes decode to,
    for the verify agent's verdicts and the risk agent's sealed, scored, tagged results."""
    verified = _verified()
    value = verified.model_dump_json().encode()
    assert CheckVerified.model_validate_json(value) == verified
    keys = CryptoKeys.from_settings(Settings())
    finisher = ResultFinisher.from_keys(keys, encrypt=True)
    assessment = assess([], 0.42, DEFAULT_RULES, model_version="m1", features=(1.5, -1.0))
    scored = verified.result.model_copy(update={"risk": assessment, "enrichment": enrich(verified.result)})
    result, encoded = tagged(finisher.seal(scored), keys.hmac_key)
    assert CheckResult.model_validate_json(encoded) == result
    assert result_is_intact(result, keys.hmac_key)


def test_take_is_once_by_exact_bytes_and_a_miss_is_none() -> None:
    handoff: Handoff[CheckVerified] = Handoff("test")
    verified = _verified()
    value = verified.model_dump_json().encode()
    handoff.put(value, verified)
    assert handoff.take(value + b" ") is None  # other bytes: decode them
    assert handoff.take(None) is None
    assert handoff.take(bytes(value)) is verified  # equal bytes, another object (as consumed)
    assert handoff.take(value) is None  # once: a redelivered record is decoded again
    assert (handoff.hits, handoff.misses) == (1, 3)


def test_full_it_keeps_what_it_holds_until_the_oldest_is_stale() -> None:
    """A lag beyond the capacity still hits on what is held (the oldest, read first); an event nobody
    takes leaves once it is older than max_age and the hand-off is full."""
    now = [0.0]
    handoff: Handoff[CheckVerified] = Handoff("test", capacity=2, max_age=10.0, clock=lambda: now[0])
    verified = _verified()
    handoff.put(b"1", verified)
    handoff.put(b"2", verified)
    handoff.put(b"3", verified)  # full of fresh events: not held
    assert (len(handoff), handoff.refused) == (2, 1)
    assert handoff.take(b"3") is None
    assert handoff.take(b"1") is verified
    handoff.put(b"4", verified)
    now[0] = 10.0
    handoff.put(b"5", verified)  # "2" is stale now: it leaves for "5"
    assert handoff.take(b"2") is None
    assert handoff.take(b"4") is verified and handoff.take(b"5") is verified


def test_each_app_and_schema_has_its_own() -> None:
    class App:  # weakly referenced, as a faust app
        pass

    app, other = App(), App()
    assert handoff_of(app, CheckVerified) is handoff_of(app, CheckVerified)
    assert handoff_of(app, CheckVerified) is not handoff_of(app, CheckResult)
    assert handoff_of(app, CheckVerified) is not handoff_of(other, CheckVerified)
