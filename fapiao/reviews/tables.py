"""The review queue's tables, in the accounts store (next to the alert cases, same migrations): items
are mutable, per organisation and few (the documents and rows a person must look at)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, deferred, mapped_column

from fapiao.accounts.models import Base, UtcDateTime


class ReviewItem(Base):
    """One document or batch row waiting for (or done with) a person's correction."""

    __tablename__ = "review_items"
    __table_args__ = (
        CheckConstraint("kind IN ('document', 'batch_row')", name="kind"),
        CheckConstraint("status IN ('open', 'submitted')", name="status"),
        Index("ix_review_items_org_status_created", "org_id", "status", "created_at", "id"),
        Index("ix_review_items_org_batch", "org_id", "batch_id", "batch_row"),
        Index("ix_review_items_org_digest", "org_id", "digest"),
    )

    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32))  # the problem's code (fields_disagree, not_digits …)
    reason_zh: Mapped[str] = mapped_column(Text)
    reason_en: Mapped[str] = mapped_column(Text)
    file_name: Mapped[str] = mapped_column(String(255), default="")
    digest: Mapped[str] = mapped_column(String(64), default="")  # SM3 of a document: one item per file
    batch_id: Mapped[str | None] = mapped_column(String(36))
    batch_row: Mapped[int | None] = mapped_column(Integer)
    line: Mapped[int | None] = mapped_column(Integer)
    extracted: Mapped[str] = mapped_column(Text)  # JSON: the reading, or the row's input and problems
    proposed: Mapped[str] = mapped_column(Text)  # JSON: the check fields as read, the form's start
    page_png: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))  # the rendered first page
    corrected: Mapped[str | None] = mapped_column(Text)  # JSON: the fields the reviewer sent
    check_id: Mapped[str | None] = mapped_column(String(36))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    reviewed_by: Mapped[str | None] = mapped_column(String(100))
    reviewed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class ReviewEvent(Base):
    """An item's history: queued, submitted (with what changed), in order."""

    __tablename__ = "review_events"
    __table_args__ = (Index("ix_review_events_org_item", "org_id", "review_id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    org_id: Mapped[str] = mapped_column(String(64))
    review_id: Mapped[str] = mapped_column(String(36))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))  # queued | submitted
    detail: Mapped[str | None] = mapped_column(Text)  # JSON
