"""The one declaration of every Kafka topic: name, key, value schema and retention.

Everything about one invoice is keyed by its invoice key (see `fapiao.domain.invoice_key`), so the
register table, the check requests and the status events are co-partitioned: partition N of each
topic lands on the same worker, and table lookups stay local.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from schemas import events


@dataclass(frozen=True)
class TopicSpec:
    name: str
    key: str
    schema: type[BaseModel]
    description: str
    compacted: bool = False
    retention_ms: int | None = None  # None: the broker default (7 days)


INVOICES_ISSUED = TopicSpec(
    "invoices.issued", "invoice key", events.InvoiceIssued, "An invoice was issued (the register's feed)."
)
INVOICES_STATUS = TopicSpec(
    "invoices.status",
    "invoice key",
    events.InvoiceStatusChanged,
    "An issued invoice was voided, red-flushed, flagged abnormal or restored.",
)
CHECKS_REQUESTED = TopicSpec(
    "checks.requested", "invoice key", events.CheckRequested, "Someone asks whether an invoice is genuine."
)
CHECKS_RESULTS = TopicSpec(
    "checks.results",
    "invoice key",
    events.CheckResult,
    "A verdict for a check; a check may get later results (sync delay resolved, status changed).",
)
CHECKS_RECHECKS = TopicSpec(
    "checks.rechecks",
    "invoice key",
    events.CheckRecheck,
    "Re-verify an earlier check: manual refresh, or a sync-delay hold that ran out (internal).",
)
CHECKS_VERIFIED = TopicSpec(
    "checks.verified",
    "seller tax id",
    events.CheckVerified,
    "A verdict with its check context, re-keyed by seller for scoring (internal).",
)
SELLERS_ACTIVITY = TopicSpec(
    "sellers.activity",
    "seller tax id",
    events.SellerActivity,
    "Invoices issued, voided or red-flushed, keyed by seller: feeds per-seller statistics (internal).",
)
RISK_RULES = TopicSpec(
    "risk.rules",
    "'current'",
    events.RiskRules,
    "Rule parameters and thresholds; analysts publish a new version, workers apply it at once.",
    compacted=True,
)
RISK_ALERTS = TopicSpec(
    "risk.alerts", "invoice key", events.RiskAlert, "A high-risk result, for risk analysts."
)
CHECKS_DLQ = TopicSpec(
    "checks.dlq",
    "original key",
    events.DeadLetter,
    "Messages no agent could read, with the reason and where they came from.",
    retention_ms=30 * 24 * 3600 * 1000,
)
DLQ_REPLAYS = TopicSpec(
    "checks.dlq.replays",
    "'<dlq partition>:<dlq offset>'",
    events.DeadLetterReplay,
    "Which dead letters `fapiao dlq replay` sent back through the pipeline (so each goes once).",
    compacted=True,
)

ALL: tuple[TopicSpec, ...] = (
    INVOICES_ISSUED,
    INVOICES_STATUS,
    CHECKS_REQUESTED,
    CHECKS_RESULTS,
    CHECKS_RECHECKS,
    CHECKS_VERIFIED,
    SELLERS_ACTIVITY,
    RISK_RULES,
    RISK_ALERTS,
    CHECKS_DLQ,
    DLQ_REPLAYS,
)
BY_NAME = {t.name: t for t in ALL}
# What the register agent folds (streams/register_agent.py); the verify agent waits for its backlog at
# each assignment (streams/catch_up.py).
REGISTER_SOURCES: tuple[TopicSpec, ...] = (INVOICES_ISSUED, INVOICES_STATUS)
