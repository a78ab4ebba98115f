"""The risk agent: scores verdicts and raises alerts.

Consumes `checks.verified` and `sellers.activity`, both keyed by seller, so the seller's rolling
statistics (a table keyed by seller tax id) are local. Verdicts are scored in batches bounded by
size and time: rules per event (pure), the model once per batch (vectorised). Each scored result
goes to `checks.results`; one above the threshold also goes to `risk.alerts`, at most once per
invoice and reason per window (an alert table remembers when each was last raised).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

import faust
import numpy as np
import structlog

from fapiao import topics
from fapiao.crypto.keys import CryptoKeys
from fapiao.crypto.result_integrity import tagged_json
from fapiao.risk import features as risk_features
from fapiao.risk.enrichment import enrich
from fapiao.risk.model import AnomalyModel, ModelWatcher
from fapiao.risk.rules import DEFAULT_RULES, RuleHit, evaluate_rules
from fapiao.risk.rules_book import RulesBook
from fapiao.risk.scoring import alert_due, assess, should_alert
from fapiao.risk.seller_stats import fold_activity
from schemas.events import CheckResult, CheckVerified, RiskAlert, RiskRules, SellerActivity
from streams import metrics
from streams.app import Pipeline
from streams.batch_events import set_current_event
from streams.changelogs import COMPACTED_CHANGELOG
from streams.dead_letters import decode
from streams.error_policy import StagePolicy
from streams.results_out import finisher_of
from streams.risk_rules_feed import follow_rules
from streams.seller_stats_table import seller_stats_table

log = structlog.get_logger(__name__)
STAGE = "risk"


@dataclass(frozen=True)
class Prepared:
    """One verdict ready to score: the rules of its organisation, its features and rule hits."""

    item: CheckVerified
    rules: RiskRules
    features: tuple[float, ...]
    hits: list[RuleHit]


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
    book = RulesBook(DEFAULT_RULES)
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

    policy = StagePolicy(pipeline, STAGE)

    def prepare(item: CheckVerified) -> Prepared:
        """Features and rule hits of one verdict, under its organisation's rules (pure but for the
        local seller lookup)."""
        current = book.for_org(item.result.org_id)
        seller = sellers.get(item.context.seller_tax_id) if item.context.seller_tax_id else None
        return Prepared(
            item,
            current,
            risk_features.features(item.result, item.context, seller),
            evaluate_rules(item.result, item.context, seller, current),
        )

    def model_scores(model: AnomalyModel | None, rows: list[Prepared]) -> list[float | None]:
        if model is None or not rows:
            return [None] * len(rows)
        matrix = np.asarray([row.features for row in rows], dtype=float)
        return [float(s) for s in model.score(matrix)]

    async def publish(
        event: faust.EventT, row: Prepared, model: AnomalyModel | None, model_score: float | None
    ) -> None:
        assessment = assess(
            row.hits,
            model_score,
            row.rules,
            model_version=model.version if model is not None else "",
            features=row.features,
        )
        result = finish.seal(
            row.item.result.model_copy(update={"risk": assessment, "enrichment": enrich(row.item.result)})
        )
        metrics.VERDICTS.labels(verdict=result.verdict.value).inc()
        await results_out.send(key=result.invoice_key.encode(), value=tagged_json(result, hmac_key))
        if should_alert(assessment, row.rules):
            set_current_event(event)  # the alert table's changelog partition is the event's
            await raise_alert(result, row.rules, datetime.now(UTC))

    async def score(batch: list[tuple[faust.EventT, CheckVerified]]) -> None:
        """Rules per event, the model once per batch; an event whose scoring raises is dead-lettered
        alone (a model failure on the batch falls back to scoring each event by itself)."""
        model = watcher.current()
        prepared: list[tuple[faust.EventT, Prepared]] = []
        for event, item in batch:
            row = await policy.run(event, partial(prepare, item))
            if row is not None:
                prepared.append((event, row))
        rows = [row for _, row in prepared]
        try:
            scores = model_scores(model, rows)
        except Exception as exc:  # one event the model cannot score: find it by scoring each alone
            policy.check_batch_error(exc)
            scored = []
            for event, row in prepared:
                single = await policy.run(event, partial(model_scores, model, [row]))
                if single is not None:
                    scored.append(((event, row), single[0]))
            prepared, scores = [p for p, _ in scored], [s for _, s in scored]
        for (event, row), model_score in zip(prepared, scores, strict=True):
            set_current_event(event)
            await policy.run(event, partial(publish, event, row, model, model_score))

    async def raise_alert(result: CheckResult, current: RiskRules, now: datetime) -> None:
        assessment = result.risk
        assert assessment is not None
        # once per organisation, invoice and reason per window: one tenant's alert never mutes another's
        keys = {r: f"{result.org_id}|{result.invoice_key}|{r}" for r in assessment.reasons}
        due = [r for r, key in keys.items() if alert_due(raised.get(key), now, current)]
        if not due:
            return
        for reason in due:
            raised[keys[reason]] = now.isoformat()
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

    async def fold(event: faust.EventT) -> CheckVerified | None:
        if event.message.topic == verified_topic:
            return decode(CheckVerified, event.value)
        activity = decode(SellerActivity, event.value)
        sellers[activity.seller_tax_id] = fold_activity(sellers.get(activity.seller_tax_id), activity)
        return None

    async def risk(stream: faust.StreamT) -> None:
        batches = stream.take_events(settings.risk_batch_size, within=settings.risk_batch_seconds)  # type: ignore[attr-defined]
        async for events in batches:
            batch: list[tuple[faust.EventT, CheckVerified]] = []
            for event in events:
                metrics.EVENTS.labels(agent=STAGE).inc()
                set_current_event(event)
                item = await policy.run(event, partial(fold, event))
                if item is not None:
                    batch.append((event, item))
            if batch:
                await score(batch)

    async def reload_model() -> None:
        if watcher.poll():
            model = watcher.current()
            log.info("risk_model_loaded", version=model.version if model else None)

    async def rules_task() -> None:
        await follow_rules(settings, book)

    app.agent(source, name="risk", concurrency=1)(risk)
    app.timer(settings.model_poll_seconds, name="reload_model")(reload_model)
    app.task(rules_task)
