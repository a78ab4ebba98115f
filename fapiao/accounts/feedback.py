"""意见反馈: what people send from the web app's feedback form, kept per organisation for its admins."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from fapiao.accounts.context import AccountsContext
from fapiao.accounts.models import Feedback

CATEGORIES = ("suggestion", "problem", "question", "praise")


@dataclass(frozen=True)
class FeedbackInfo:
    id: int
    author: str
    category: str
    message: str
    contact: str
    page: str
    created_at: datetime


def _info(row: Feedback) -> FeedbackInfo:
    return FeedbackInfo(row.id, row.author, row.category, row.message, row.contact, row.page, row.created_at)


def add(
    ctx: AccountsContext, org_id: str, author: str, category: str, message: str, contact: str, page: str
) -> FeedbackInfo:
    row = Feedback(
        org_id=org_id,
        author=author,
        category=category,
        message=message,
        contact=contact,
        page=page,
        created_at=ctx.clock(),
    )
    with ctx.sessions.begin() as s:
        s.add(row)
        s.flush()
        return _info(row)


def listing(
    ctx: AccountsContext, org_id: str, limit: int, before_id: int | None = None
) -> list[FeedbackInfo]:
    """The organisation's feedback, newest first; `before_id` pages back."""
    query = select(Feedback).where(Feedback.org_id == org_id)
    if before_id is not None:
        query = query.where(Feedback.id < before_id)
    with ctx.sessions() as s:
        return [_info(r) for r in s.scalars(query.order_by(Feedback.id.desc()).limit(limit))]
