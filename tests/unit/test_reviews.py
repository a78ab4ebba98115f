"""人工复核: when a reading goes to a person, what a correction must satisfy, what the queue keeps, and
the queue itself (SQLite migrated by alembic, as the accounts tests)."""

from __future__ import annotations

from datetime import date
from uuid import uuid4

import pytest

from fapiao.accounts import orgs
from fapiao.accounts.context import AccountsContext
from fapiao.accounts.exceptions import Conflict, NotFound
from fapiao.batches.items import BatchItem, item_from_row
from fapiao.batches.row_checks import RowProblem, parse_row
from fapiao.batches.sheets import SheetRow
from fapiao.cases.inbox import Cursor
from fapiao.documents.model import Disagreement, Extraction, Found, Source
from fapiao.documents.to_check import proposed_fields
from fapiao.reviews import store
from fapiao.reviews.correction import corrected_check
from fapiao.reviews.drafts import batch_draft, document_draft
from fapiao.reviews.triage import review_need
from tests.unit.test_accounts_flows import PASSWORD, Clock, clock, ctx  # noqa: F401 (fixtures)

TODAY = date(2026, 12, 7)
NUMBER = "26112000000004231957"  # 数电: the fourth field is 价税合计


def _extraction(**overrides: Found | None) -> Extraction:
    fields = {
        "fplx": Found("31", Source.QR, 1.0, (Source.TEXT,)),
        "invoice_number": Found(NUMBER, Source.QR, 1.0, (Source.TEXT,)),
        "issue_date": Found("2026-11-20", Source.QR, 1.0, (Source.TEXT,)),
        "amount": Found("1000.00", Source.TEXT, 0.75),
        "total": Found("1130.00", Source.QR, 1.0, (Source.TEXT,)),
        "seller_name": Found("北京示例科技有限公司", Source.TEXT, 0.75),
    }
    for name, found in overrides.items():
        if found is None:
            fields.pop(name)
        else:
            fields[name] = found
    disputed = tuple(
        Disagreement(n, {Source.QR: f.value, Source.TEXT: "9130.00"})
        for n, f in fields.items()
        if f.confidence == 0.3
    )
    return Extraction("a.pdf", "pdf", fields, disputed)


def test_a_clean_reading_is_checked_without_review() -> None:
    assert review_need(_extraction()) is None


def test_text_and_qr_disagreeing_on_a_checked_field_goes_to_review_naming_it() -> None:
    need = review_need(_extraction(total=Found("1130.00", Source.QR, 0.3)))
    assert need is not None and need.code == "fields_disagree" and need.fields == ("total",)
    assert "total" in need.message_en and "二维码" in need.message_zh


def test_a_disagreement_on_a_name_does_not_hold_the_check() -> None:
    assert review_need(_extraction(seller_name=Found("北京示例科技有限公司", Source.QR, 0.3))) is None


def test_a_number_read_only_by_its_shape_goes_to_review() -> None:
    need = review_need(_extraction(invoice_number=Found(NUMBER, Source.SHAPE, 0.5)))
    assert need is not None and need.code == "low_confidence" and need.fields == ("invoice_number",)
    assert "invoice_number" in need.message_en and "人工复核" in need.message_zh


def test_a_missing_field_goes_to_review() -> None:
    need = review_need(_extraction(invoice_number=None))
    assert need is not None and need.code == "missing_fields" and "invoice_number" in need.message_en


def test_the_proposal_keeps_a_disputed_reading_and_the_type_s_fourth_field() -> None:
    proposed = proposed_fields(_extraction(total=Found("1130.00", Source.QR, 0.3)))
    assert proposed == {"invoice_number": NUMBER, "issue_date": "2026-11-20", "amount": "1130.00"}


def test_a_correction_is_held_to_the_row_rules_and_names_each_field() -> None:
    good = corrected_check(
        {"invoice_number": NUMBER, "issue_date": "2026年11月20日", "amount": "1130"}, TODAY
    )
    assert (
        good.fields is not None and str(good.fields.amount) == "1130.00" and good.fields.issue_date.day == 20
    )
    bad = corrected_check(
        {"invoice_number": "2611 20AB", "issue_date": "2026-13-01", "amount": "1,13x"}, TODAY
    )
    assert bad.fields is None
    assert {p.field: p.code for p in bad.problems} == {
        "invoice_number": "not_digits",
        "issue_date": "date_format",
        "amount": "amount_format",
    }
    assert all(p.message_zh and p.message_en for p in bad.problems)
    future = corrected_check({"invoice_number": NUMBER, "issue_date": "2027-01-01", "amount": "1130"}, TODAY)
    assert future.fields is None and [p.field for p in future.problems] == ["issue_date"]
    empty = corrected_check({}, TODAY)
    assert {p.field for p in empty.problems} == {"invoice_number", "issue_date"}


def test_a_rejected_row_becomes_a_row_review_and_an_accepted_one_none() -> None:
    batch = uuid4()
    row = SheetRow(3, {"invoice_number": "12AB", "issue_date": "2026-11-20", "amount": "10"})
    rejected = item_from_row(2, row, parse_row(row, TODAY))
    draft = batch_draft(rejected, batch)
    assert draft is not None and draft.kind == "batch_row" and (draft.batch_row, draft.line) == (2, 3)
    assert draft.reason == "not_digits" and "invoice_number" in draft.reason_en
    assert draft.proposed == {"invoice_number": "12AB", "issue_date": "2026-11-20", "amount": "10"}
    good = SheetRow(4, {"invoice_number": NUMBER, "issue_date": "2026-11-20", "amount": "1130"})
    assert batch_draft(item_from_row(3, good, parse_row(good, TODAY)), batch) is None


def test_only_documents_a_person_can_read_are_queued() -> None:
    batch = uuid4()
    unreadable = BatchItem(
        1, 0, "x.pdf", None, (RowProblem(0, "file", "pdf_encrypted", "加密", "encrypted"),)
    )
    assert batch_draft(unreadable, batch) is None
    disputed = _extraction(total=Found("1130.00", Source.QR, 0.3))
    problem = RowProblem(0, "file", "fields_disagree", "不一致", "disagree")
    item = BatchItem(2, 0, "a.pdf", None, (problem,), {}, disputed, b"\x89PNG")
    draft = batch_draft(item, batch)
    assert draft is not None and draft.kind == "document" and draft.page_png == b"\x89PNG"
    assert draft.batch_id == str(batch) and draft.batch_row == 2
    assert draft.extracted["disagreements"][0]["field"] == "total"


def _org(ctx: AccountsContext) -> tuple[str, str]:  # noqa: F811
    return orgs.register(ctx, "复核 Review Co.", f"r-{uuid4().hex[:8]}@example.com", PASSWORD, "Rita")


def test_the_queue_pages_oldest_first_submits_once_and_stays_in_its_organisation(
    ctx: AccountsContext,  # noqa: F811
    clock: Clock,  # noqa: F811
) -> None:
    org, user = _org(ctx)
    other, _ = _org(ctx)
    need = review_need(_extraction(total=Found("1130.00", Source.QR, 0.3)))
    assert need is not None
    ids = []
    for n in range(3):
        draft = document_draft(_extraction(total=Found("1130.00", Source.QR, 0.3)), need, digest=f"d{n}")
        ids += store.enqueue(ctx, org, user, [draft])
        clock.advance(1)
    assert store.enqueue(ctx, org, user, [document_draft(_extraction(), need, digest="d0")]) == [ids[0]]

    first, more = store.page(ctx, org, store.ReviewFilters(), None, 2)
    assert [i.id for i in first] == ids[:2] and isinstance(more, Cursor)
    rest, end = store.page(ctx, org, store.ReviewFilters(), more, 2)
    assert [i.id for i in rest] == ids[2:] and end is None
    assert store.page(ctx, other, store.ReviewFilters(), None, 10) == ([], None)
    with pytest.raises(NotFound):
        store.get(ctx, other, ids[0])

    sent: list[str] = []
    corrected = {"invoice_number": NUMBER, "issue_date": "2026-11-20", "amount": "1130.00"}
    done = store.submit(ctx, org, user, ids[0], corrected, "c-1", lambda info: sent.append(info.id))
    assert sent == [ids[0]] and done.status == "submitted" and done.reviewed_by == user
    assert [e.kind for e in done.events] == ["queued", "submitted"]
    assert done.events[1].detail["changed"] == {}  # the reviewer kept what was read
    with pytest.raises(Conflict):
        store.submit(ctx, org, user, ids[0], corrected, "c-1", sent.append)

    def refuse(_info: store.ReviewInfo) -> None:
        raise OSError("broker down")

    with pytest.raises(OSError):
        store.submit(ctx, org, user, ids[1], corrected, "c-2", refuse)
    assert store.get(ctx, org, ids[1]).status == "open"  # nothing recorded without the check
    opened, _ = store.page(ctx, org, store.ReviewFilters(status="open"), None, 10)
    assert [i.id for i in opened] == ids[1:]
