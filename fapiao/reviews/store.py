"""The review queue in the accounts store: queue items, page through them, read one, submit one.

Every change is one transaction that also writes the item's history and the organisation's audit log
(`review.queued`, `review.submitted`), as the alert cases do. Submitting calls `on_submit` (publish the
check; for a batch row, put it back into its batch) before the transaction commits, so a check that
could not be sent leaves the item open (the caller answers 503 and the reviewer tries again; the
check id is stable, so a retry is the same check). Only one submission of an item wins: the status
moves open → submitted in an UPDATE that the second one finds already done (409).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import uuid4

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from fapiao.accounts import audit
from fapiao.accounts.context import AccountsContext
from fapiao.accounts.exceptions import Conflict, NotFound
from fapiao.cases.inbox import Cursor
from fapiao.reviews.tables import ReviewEvent, ReviewItem

STATUSES = ("open", "submitted")
KINDS = ("document", "batch_row")


@dataclass(frozen=True)
class Draft:
    """What goes into the queue: a document (its reading, its first page) or a rejected batch row."""

    kind: str
    reason: str
    reason_zh: str
    reason_en: str
    extracted: dict[str, Any]
    proposed: dict[str, str]
    file_name: str = ""
    digest: str = ""
    batch_id: str | None = None
    batch_row: int | None = None
    line: int | None = None
    page_png: bytes | None = None


@dataclass(frozen=True)
class ReviewEventInfo:
    at: datetime
    actor: str
    kind: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class ReviewInfo:
    id: str
    kind: str
    status: str
    reason: str
    reason_zh: str
    reason_en: str
    file_name: str
    batch_id: str | None
    batch_row: int | None
    line: int | None
    extracted: dict[str, Any]
    proposed: dict[str, str]
    corrected: dict[str, str] | None
    check_id: str | None
    created_by: str
    created_at: datetime
    reviewed_by: str | None
    reviewed_at: datetime | None
    has_page: bool
    events: tuple[ReviewEventInfo, ...] = field(default=())


@dataclass(frozen=True)
class ReviewFilters:
    status: str | None = "open"
    kind: str | None = None
    batch_id: str | None = None

    def chosen(self) -> list[Any]:
        return ["reviews", self.status, self.kind, self.batch_id]


def _info(row: ReviewItem, has_page: bool, events: Sequence[ReviewEvent] = ()) -> ReviewInfo:
    return ReviewInfo(
        row.id,
        row.kind,
        row.status,
        row.reason,
        row.reason_zh,
        row.reason_en,
        row.file_name,
        row.batch_id,
        row.batch_row,
        row.line,
        json.loads(row.extracted),
        json.loads(row.proposed),
        json.loads(row.corrected) if row.corrected else None,
        row.check_id,
        row.created_by,
        row.created_at,
        row.reviewed_by,
        row.reviewed_at,
        has_page,
        tuple(ReviewEventInfo(e.at, e.actor, e.kind, json.loads(e.detail or "{}")) for e in events),
    )


def _event(
    s: Session, org_id: str, review_id: str, at: datetime, actor: str, kind: str, **detail: Any
) -> None:
    s.add(
        ReviewEvent(
            org_id=org_id,
            review_id=review_id,
            at=at,
            actor=actor,
            kind=kind,
            detail=json.dumps(detail, ensure_ascii=False, default=str),
        )
    )


def enqueue(ctx: AccountsContext, org_id: str, actor: str, drafts: Sequence[Draft]) -> list[str]:
    """Queue the drafts (one transaction); their ids in order. A document already waiting in the queue
    (same content, not from a batch) is not queued twice: its id is returned."""
    now = ctx.clock()
    ids: list[str] = []
    with ctx.sessions.begin() as s:
        for draft in drafts:
            if draft.digest and draft.batch_id is None:
                waiting = s.scalar(
                    select(ReviewItem.id).where(
                        ReviewItem.org_id == org_id,
                        ReviewItem.digest == draft.digest,
                        ReviewItem.batch_id.is_(None),
                        ReviewItem.status == "open",
                    )
                )
                if waiting is not None:
                    ids.append(waiting)
                    continue
            review_id = str(uuid4())
            s.add(
                ReviewItem(
                    org_id=org_id,
                    id=review_id,
                    kind=draft.kind,
                    status="open",
                    reason=draft.reason,
                    reason_zh=draft.reason_zh,
                    reason_en=draft.reason_en,
                    file_name=draft.file_name[:255],
                    digest=draft.digest,
                    batch_id=draft.batch_id,
                    batch_row=draft.batch_row,
                    line=draft.line,
                    extracted=json.dumps(draft.extracted, ensure_ascii=False),
                    proposed=json.dumps(draft.proposed, ensure_ascii=False),
                    page_png=draft.page_png,
                    created_by=actor,
                    created_at=now,
                )
            )
            _event(s, org_id, review_id, now, actor, "queued", reason=draft.reason)
            ids.append(review_id)
        if ids:
            batches = sorted({d.batch_id for d in drafts if d.batch_id})
            audit.record(s, now, "review.queued", actor, org_id, items=len(drafts), batches=batches)
    return ids


def page(
    ctx: AccountsContext, org_id: str, filters: ReviewFilters, after: Cursor | None, limit: int
) -> tuple[list[ReviewInfo], Cursor | None]:
    """Oldest first (a work queue), by (created_at, id); the cursor of the page's last item when there
    may be more."""
    query = select(ReviewItem, ReviewItem.page_png.is_not(None)).where(ReviewItem.org_id == org_id)
    if filters.status:
        query = query.where(ReviewItem.status == filters.status)
    if filters.kind:
        query = query.where(ReviewItem.kind == filters.kind)
    if filters.batch_id:
        query = query.where(ReviewItem.batch_id == filters.batch_id)
    if after is not None:
        query = query.where(
            or_(
                ReviewItem.created_at > after.raised_at,
                and_(ReviewItem.created_at == after.raised_at, ReviewItem.id > after.alert_id),
            )
        )
    query = query.order_by(ReviewItem.created_at, ReviewItem.id).limit(limit + 1)
    with ctx.sessions() as s:
        rows = list(s.execute(query))
    items = [_info(row, bool(has_page)) for row, has_page in rows[:limit]]
    more = len(rows) > limit
    return items, (Cursor(items[-1].created_at, items[-1].id) if more and items else None)


def _row(s: Session, org_id: str, review_id: str) -> ReviewItem:
    row = s.get(ReviewItem, (org_id, review_id))
    if row is None:
        raise NotFound(f"no review item {review_id} in this organisation", "本组织没有该复核事项")
    return row


def _events(s: Session, org_id: str, review_id: str) -> list[ReviewEvent]:
    query = select(ReviewEvent).where(ReviewEvent.org_id == org_id, ReviewEvent.review_id == review_id)
    return list(s.scalars(query.order_by(ReviewEvent.id)))


def _has_page(s: Session, org_id: str, review_id: str) -> bool:
    found = s.scalar(
        select(ReviewItem.page_png.is_not(None)).where(
            ReviewItem.org_id == org_id, ReviewItem.id == review_id
        )
    )
    return bool(found)


def get(ctx: AccountsContext, org_id: str, review_id: str) -> ReviewInfo:
    with ctx.sessions() as s:
        row = _row(s, org_id, review_id)
        return _info(row, _has_page(s, org_id, review_id), _events(s, org_id, review_id))


def page_image(ctx: AccountsContext, org_id: str, review_id: str) -> bytes | None:
    with ctx.sessions() as s:
        return _row(s, org_id, review_id).page_png


def submit(
    ctx: AccountsContext,
    org_id: str,
    actor: str,
    review_id: str,
    corrected: dict[str, str],
    check_id: str,
    on_submit: Callable[[ReviewInfo], None],
    ip: str | None = None,
) -> ReviewInfo:
    """Mark the item submitted by `actor` with the corrected fields and its check, calling `on_submit`
    before the commit. Conflict when it was already submitted; NotFound outside the organisation."""
    now = ctx.clock()
    with ctx.sessions.begin() as s:
        row = _row(s, org_id, review_id)
        moved = s.execute(
            update(ReviewItem)
            .where(ReviewItem.org_id == org_id, ReviewItem.id == review_id, ReviewItem.status == "open")
            .values(
                status="submitted",
                corrected=json.dumps(corrected, ensure_ascii=False),
                check_id=check_id,
                reviewed_by=actor,
                reviewed_at=now,
            )
        )
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict("this item was already reviewed and submitted", "该事项已复核提交")
        s.refresh(row)
        changed = {k: [row_value, corrected.get(k)] for k, row_value in json.loads(row.proposed).items()}
        changed.update({k: [None, v] for k, v in corrected.items() if k not in changed})
        changed = {k: v for k, v in changed.items() if v[0] != v[1]}
        _event(s, org_id, review_id, now, actor, "submitted", check_id=check_id, changed=changed)
        audit.record(
            s, now, "review.submitted", actor, org_id, ip=ip, review_id=review_id, check_id=check_id,
            changed=sorted(changed),
        )  # fmt: skip
        s.flush()
        info = _info(row, _has_page(s, org_id, review_id), _events(s, org_id, review_id))
        on_submit(info)
        return info
