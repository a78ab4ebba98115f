"""The risk agent: scores verdicts and raises alerts.

Consumes `checks.verified` and `sellers.activity`, both keyed by seller, so the seller's rolling
statistics (a table keyed by seller tax id) are local. Verdicts are scored in batches bounded by
size and time: rules per event (pure), the model once per batch (vectorised). Each scored result
goes to `checks.results`; one above the threshold also goes to `risk.alerts`, at most once per
invoice and reason per window (an alert table remembers when each was last raised).
"""

from __future__ import annotations

import uuid
import weakref
from datetime import UTC, datetime

import faust
import numpy as np
import structlog
from faust.streams import _current_event

from fapiao import topics
from fapiao.crypto.keys import CryptoKeys
from fapiao.crypto.result_integrity import tagged_json
from fapiao.risk import features as risk_features
from fapiao.risk.enrichment import enrich
from fapiao.risk.model import ModelWatcher
from fapiao.risk.rules import DEFAULT_RULES, evaluate_rules
from fapiao.risk.scoring import alert_due, assess, should_alert
from fapiao.risk.seller_stats import fold_activity
from schemas.events import CheckResult, CheckVerified, RiskAlert, SellerActivity
from streams import metrics
from streams.app import Pipeline
from streams.changelogs import COMPACTED_CHANGELOG
from streams.dead_letters import Unreadable, decode, send_dead_letter
from streams.results_out import finisher_of
from streams.risk_rules_feed import RulesHolder, follow_rules
from streams.seller_stats_table import seller_stats_table

log = structlog.get_logger(__name__)
STAGE = "risk"


def set_current_event(event: faust.EventT) -> None:
    """Batched processing (take_events) leaves no current event, and a table write needs one to pick its
    changelog partition (the event's own, which keeps the table co-partitioned with its source).

    Only faust's context variable is set: `Stream._set_current_event` would also overwrite the stream's
    `current_event`, which take_events' buffering reads concurrently — that swapped events in a batch
    (one event twice, its neighbour lost)."""
    _current_event.set(weakref.ref(event))


def attach(pipeline: Pipeline) -> None:
    settings = pipeline.settings
    app = pipeline.app
    sellers = seller_stats_table(app, settings.topic_partitions)
    raised = app.Table(
        "alerts_raised",
        default=None,
        partitions=settings.topic_partitions,
        extra_topic_configs=COMPACTED_CHANGELOG,
        schema=faust.Schema(key_serializer="json", value_serializer="json"),
    )
    rules = RulesHolder(DEFAULT_RULES)
    hmac_key = CryptoKeys.from_settings(settings).hmac_key
    finish = finisher_of(pipeline)  # seals each result and alert (field encryption, docs/security.md)
    watcher = ModelWatcher(settings.models_dir)
    verified_topic = settings.topic(topics.CHECKS_VERIFIED.name)
    source = app.topic(
        verified_topic,
        settings.topic(topics.SELLERS_ACTIVITY.name),
        partitions=settings.topic_partitions,
        key_serializer="raw",
        value_serializer="raw",
    )
    results_out = pipeline.topics[topics.CHECKS_RESULTS.name]
    alerts_out = pipeline.topics[topics.RISK_ALERTS.name]

    async def score(batch: list[tuple[faust.EventT, CheckVerified]]) -> None:
        current = rules.current
        model = watcher.current()
        rows = []
        for event, item in batch:
            seller = sellers.get(item.context.seller_tax_id) if item.context.seller_tax_id else None
            rows.append(
                (
                    event,
                    item,
                    risk_features.features(item.result, item.context, seller),
                    evaluate_rules(item.result, item.context, seller, current),
                )
            )
        model_scores: list[float | None] = [None] * len(rows)
        if model is not None and rows:
            matrix = np.asarray([feats for _, _, feats, _ in rows], dtype=float)
            model_scores = [float(s) for s in model.score(matrix)]
        now = datetime.now(UTC)
        for (event, item, feats, hits), model_score in zip(rows, model_scores, strict=True):
            assessment = assess(
                hits,
                model_score,
                current,
                model_version=model.version if model is not None else "",
                features=feats,
            )
            result = finish.seal(
                item.result.model_copy(update={"risk": assessment, "enrichment": enrich(item.result)})
            )
            metrics.VERDICTS.labels(verdict=result.verdict.value).inc()
            await results_out.send(key=result.invoice_key.encode(), value=tagged_json(result, hmac_key))
            if should_alert(assessment, current):
                set_current_event(event)  # the alert table's changelog partition is the event's
                await raise_alert(result, now)

    async def raise_alert(result: CheckResult, now: datetime) -> None:
        assessment = result.risk
        assert assessment is not None
        current = rules.current
        due = [
            r for r in assessment.reasons if alert_due(raised.get(f"{result.invoice_key}|{r}"), now, current)
        ]
        if not due:
            return
        for reason in due:
            raised[f"{result.invoice_key}|{reason}"] = now.isoformat()
        alert = RiskAlert(
            alert_id=uuid.uuid5(result.check_id, f"alert-{result.result_version}"),
            check_id=result.check_id,
            org_id=result.org_id,
            invoice_key=result.invoice_key,
            seller_tax_id=(result.invoice.seller.tax_id or "") if result.invoice else "",
            raised_at=now,
            score=assessment.score,
            severity=assessment.severity,
            reasons=assessment.reasons,
            evidence=assessment.evidence,
            rule_version=current.version,
            model_version=assessment.model_version,
        )
        alert = finish.alert(alert, result.invoice.seller if result.invoice else None)
        metrics.ALERTS.labels(severity=alert.severity).inc()
        await alerts_out.send(key=result.invoice_key.encode(), value=alert.model_dump_json().encode())

    async def risk(stream: faust.StreamT) -> None:
        batches = stream.take_events(settings.risk_batch_size, within=settings.risk_batch_seconds)  # type: ignore[attr-defined]
        async for events in batches:
            batch: list[tuple[faust.EventT, CheckVerified]] = []
            for event in events:
                metrics.EVENTS.labels(agent=STAGE).inc()
                set_current_event(event)
                try:
                    if event.message.topic == verified_topic:
                        batch.append((event, decode(CheckVerified, event.value)))
                    else:
                        activity = decode(SellerActivity, event.value)
                        sellers[activity.seller_tax_id] = fold_activity(
                            sellers.get(activity.seller_tax_id), activity
                        )
                except Unreadable as exc:
                    await send_dead_letter(pipeline, event, str(exc), STAGE)
            if batch:
                await score(batch)

    async def reload_model() -> None:
        if watcher.poll():
            model = watcher.current()
            log.info("risk_model_loaded", version=model.version if model else None)

    async def rules_task() -> None:
        await follow_rules(settings, rules)

    app.agent(source, name="risk", concurrency=1)(risk)
    app.timer(settings.model_poll_seconds, name="reload_model")(reload_model)
    app.task(rules_task)
