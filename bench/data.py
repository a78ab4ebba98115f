"""Synthetic but valid events for the benchmarks, built with the same builders the tests use.

Invoices are type 10 (增值税电子普通发票: code + 8-digit number, checked with 校验码后6位), issued a few
days ago, one distinct number each, spread over 200 sellers. The check mix is mostly 一致, with some
不一致 (wrong check code) and some 查无此票 (an invoice dated weeks ago that is not in the
register, so no sync-delay hold): every check gets its final verdict at once, as in steady traffic.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import orjson

from fapiao.domain.invoice_types import invoice_key
from fapiao.domain.results import build_result
from fapiao.domain.verification import Decision, invoice_face
from schemas.events import CheckRequested, CheckResult, InvoiceIssued, InvoiceStatus, Party, Verdict
from tests.factories import check_of, issued

CODE = "011002300111"  # a 12-digit code of type 10
FIRST_NUMBER = 10_000_000
MISSING_FIRST_NUMBER = 90_000_000  # numbers never issued (查无此票)


def today_shanghai() -> date:
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


SELLERS = 200  # distinct sellers the invoices are spread over (the risk stage is keyed by seller)


def seller(n: int) -> Party:
    return Party(name=f"示例销售方{n:04d}有限公司", tax_id=f"91110108{n:010d}")


def invoice(i: int, issue_date: date | None = None) -> InvoiceIssued:
    inv = issued(
        code=CODE,
        number=f"{FIRST_NUMBER + i:08d}",
        issue_date=issue_date or today_shanghai() - timedelta(days=3),
        amount=f"{100 + i % 9000}.00",
        tax=f"{13 + i % 900}.00",
        check_code=f"{(i * 7919) % 10**20:020d}",
    )
    return inv.model_copy(update={"seller": seller(i % SELLERS)})


def invoices(n: int) -> list[InvoiceIssued]:
    issue_date = today_shanghai() - timedelta(days=3)
    return [invoice(i, issue_date) for i in range(n)]


def encode(key: str, event: object) -> tuple[bytes, bytes]:
    return key.encode(), event.model_dump_json().encode()  # type: ignore[attr-defined]


def issued_payloads(indices: Iterable[int], issue_date: date | None = None) -> Iterator[tuple[bytes, bytes]]:
    """(key, value) of `invoice(i)` for each i, written from a template instead of the model: the same
    invoices (only the event ids differ) at ~1/20 of the cost, so a register of millions can be fed
    (bench register-scale, sync-latency --register)."""
    day = issue_date or today_shanghai() - timedelta(days=3)
    template = invoice(0, day).model_dump(mode="json")
    prefix = str(uuid.uuid4())[:24]  # one run's event ids: <random>-<index as 12 hex digits>
    dumps, seller_of = orjson.dumps, template["seller"]
    for i in indices:
        number = f"{FIRST_NUMBER + i:08d}"
        amount, tax = f"{100 + i % 9000}.00", f"{13 + i % 900}.00"
        n = i % SELLERS
        value = {
            **template,
            "event_id": f"{prefix}{i:012x}",
            "invoice_number": number,
            "seller": {**seller_of, "name": f"示例销售方{n:04d}有限公司", "tax_id": f"91110108{n:010d}"},
            "lines": [{**template["lines"][0], "amount": amount, "tax": tax}],
            "amount": amount,
            "tax": tax,
            "total": f"{100 + i % 9000 + 13 + i % 900}.00",
            "check_code": f"{(i * 7919) % 10**20:020d}",
        }
        yield f"{CODE}-{number}".encode(), dumps(value)


def issued_messages(invs: list[InvoiceIssued]) -> Iterator[tuple[bytes, bytes]]:
    for inv in invs:
        yield encode(invoice_key(inv.invoice_code, inv.invoice_number), inv)


@dataclass(frozen=True)
class Mix:
    inconsistent: float = 0.05
    not_found: float = 0.05


def check_requests(
    invs: list[InvoiceIssued], k: int, *, mix: Mix = Mix(), seed: int = 7
) -> list[CheckRequested]:
    """`k` checks spread round-robin over `invs` (so at most ceil(k/len) per invoice and day)."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    old = today_shanghai() - timedelta(days=30)
    out = []
    for j in range(k):
        inv = invs[j % len(invs)]
        roll = rng.random()
        if roll < mix.not_found:
            missing = issued(
                code=CODE, number=f"{MISSING_FIRST_NUMBER + j:08d}", issue_date=old, check_code=inv.check_code
            )
            out.append(check_of(missing, requested_at=now))
        elif roll < mix.not_found + mix.inconsistent:
            wrong = f"{(int(inv.check_code[-6:]) + 1) % 10**6:06d}"
            out.append(check_of(inv, requested_at=now, check_code=wrong))
        else:
            out.append(check_of(inv, requested_at=now))
    return out


def check_messages(checks: list[CheckRequested]) -> Iterator[tuple[bytes, bytes]]:
    for c in checks:
        yield encode(invoice_key(c.invoice_code, c.invoice_number), c)


def api_body(check: CheckRequested) -> dict[str, object]:
    """The HTTP body of `POST /v1/checks` for the same check."""
    body: dict[str, object] = {
        "invoice_code": check.invoice_code,
        "invoice_number": check.invoice_number,
        "issue_date": check.issue_date.isoformat(),
        "requester": check.requester,
    }
    if check.check_code is not None:
        body["check_code"] = check.check_code
    if check.amount is not None:
        body["amount"] = str(check.amount)
    return body


def results(k: int) -> list[CheckResult]:
    """`k` 一致 results with the invoice face, as the verify agent would publish them."""
    invs = invoices(min(k, 5000))
    checks = check_requests(invs, k, mix=Mix(0, 0))
    by_key = {invoice_key(i.invoice_code, i.invoice_number): i for i in invs}
    now = datetime.now(UTC)
    out = []
    for n, check in enumerate(checks):
        inv = by_key[invoice_key(check.invoice_code, check.invoice_number)]
        decision = Decision(Verdict.CONSISTENT, invoice=invoice_face(inv, InvoiceStatus.NORMAL))
        result = build_result(check, decision, decided_at=now, check_count=1 + n // len(invs))
        out.append(_as_scored(result))
    return out


def _as_scored(result: CheckResult) -> CheckResult:
    """The result as the worker publishes it after its risk stage (a no-risk assessment and the
    enrichment), when this version of the code has one; else unchanged."""
    try:
        from fapiao.risk.enrichment import enrich
        from fapiao.risk.rules import DEFAULT_RULES
        from fapiao.risk.scoring import assess

        assessment = assess([], None, DEFAULT_RULES, model_version="", features=())
        return result.model_copy(update={"risk": assessment, "enrichment": enrich(result)})
    except Exception:  # an older version without the risk stage (or a changed signature)
        return result


def result_messages(res: list[CheckResult]) -> Iterator[tuple[bytes, bytes]]:
    for r in res:
        yield encode(r.invoice_key, r)
