"""The risk agent: scores verdicts and raises alerts.

Consumes `checks.verified` and `sellers.activity`, both keyed by seller, so the seller's rolling
statistics (a table keyed by seller tax id) are local. The records come in the batches faust's
consumer fetches them (streams/bulk_feed.py, at most `risk_batch_size`), not through a faust stream:
each parsed once under the stage's error policy (an unreadable or raising one is dead-lettered, the
batch goes on), the statistics of the batch's sellers read at once, each activity folded in place
into the batch's copy (`seller_stats.fold_activity_into`), each changed seller written once; then
rules per verdict (pure), the model once per batch (vectorised). Each scored result
goes to `checks.results`; one above the threshold also goes to `risk.alerts`, at most once per
invoice and reason per window (an alert table remembers when each was last raised).

With `risk_behaviour` on (off by default, docs/risk-model.md says why), the agent also keeps
behaviour profiles (docs/risk-model.md, "Behaviour") in the behaviour_profiles table: issuances are
folded into them as `sellers.activity` arrives, each presented check is compared with them
(`behaviour.deviations`, per event) and folded in afterwards, and the calibrated behaviour model
scores the batch's deviations at once: a `behaviour_anomaly` hit, worth its organisation's
`weights['behaviour_anomaly']` × the score, with readable zh/en reasons. A batch reads each profile
once, folds into its own copy in place, and writes each changed one once (`profile_cache.BatchProfiles`).
Everything the batch wrote or produced is acknowledged by Kafka before its records are; the next batch
is scored while they are on their way (the batch's `Finish`, streams/bulk_feed.py), its alerts checked
against the marks the unfinished batch has not yet written.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import faust
import numpy as np
import structlog

from fapiao import topics
from fapiao.crypto.keys import CryptoKeys
from fapiao.crypto.result_integrity import tagged
from fapiao.domain import retention
from fapiao.risk import behaviour, behaviour_model, seller_stats
from fapiao.risk import features as risk_features
from fapiao.risk.enrichment import enrich
from fapiao.risk.model import AnomalyModel, ModelWatcher
from fapiao.risk.profile_cache import BatchProfiles, table_key
from fapiao.risk.rules import DEFAULT_RULES, RuleHit, evaluate_rules, param, weight
from fapiao.risk.rules_book import RulesBook
from fapiao.risk.rules_feed import follow_rules
from fapiao.risk.scoring import alert_due, assess, should_alert
from schemas.events import CheckResult, CheckVerified, RiskAlert, RiskRules, SellerActivity
from streams import bulk_feed, metrics, table_batch
from streams.app import Pipeline, json_table
from streams.batch_events import crash_only, set_current_event
from streams.dead_letters import decode
from streams.error_policy import StagePolicy, crash
from streams.handoff import handoff_of
from streams.outbox import Outbox
from streams.profiles_table import profiles_table
from streams.results_out import finisher_of
from streams.seller_stats_table import seller_stats_table
from streams.table_sweep import TableSweep, busy, sweep_once

log = structlog.get_logger(__name__)
STAGE = "risk"
BURST_FEATURE = risk_features.FEATURE_NAMES.index("number_burst")
Message = tuple[bytes, bytes]  # (key, value), encoded

SellerBatch = dict[str, tuple[faust.EventT, Any]]  # seller tax id -> (its last activity, statistics)
# a record of the batch, decoded: a verdict with its check as behaviour reads it (None with behaviour
# off or nothing presented), or a seller activity (None)
Parsed = tuple[faust.EventT, CheckVerified | SellerActivity, behaviour.Check | None]
Verified = tuple[faust.EventT, CheckVerified, behaviour.Check | None]
Mark = tuple[faust.EventT, str]  # an alert mark: the event that raised it, when (ISO)


@dataclass(frozen=True)
class Prepared:
    """One verdict ready to score: the rules of its organisation, its features and rule hits."""

    item: CheckVerified
    rules: RiskRules
    features: tuple[float, ...]
    hits: list[RuleHit]
    deviations: list[behaviour.Deviation] | None = None  # a presented check's, strongest first


def attach_retention(pipeline: Pipeline, sellers: faust.types.TableT, raised: faust.types.TableT) -> None:
    """The seller_stats and alerts_raised tables bounded as the register is (streams/table_sweep.py):
    sellers without activity for five years, alert marks older than any alert window leave them."""
    settings = pipeline.settings
    chunk = settings.table_sweep_chunk
    sweeps = [
        TableSweep(sellers, retention.seller_stats_expired, chunk),
        TableSweep(raised, retention.alert_mark_expired, chunk),
    ]
    tz = ZoneInfo(settings.timezone)

    async def sweep_risk_tables() -> None:
        if busy(pipeline.app):
            return
        now = datetime.now(UTC)
        outbox = Outbox(pipeline.app)
        try:
            for sweep in sweeps:
                await sweep_once(sweep, outbox, now, now.astimezone(tz).date())
            await outbox.flush()
        except Exception as exc:  # the table store or Kafka failed: crash-only, as every stage
            crash(STAGE, exc)

    pipeline.app.timer(settings.table_sweep_seconds, name="sweep_risk_tables")(sweep_risk_tables)


def attach(pipeline: Pipeline) -> None:
    settings = pipeline.settings
    app = pipeline.app
    sellers = seller_stats_table(app, settings.topic_partitions)
    raised = json_table(app, "alerts_raised", settings.topic_partitions)
    profiles = profiles_table(app, settings.topic_partitions) if settings.risk_behaviour else None
    book = RulesBook(DEFAULT_RULES)
    hmac_key = CryptoKeys.from_settings(settings).hmac_key
    finish = finisher_of(pipeline)  # seals each result and alert (field encryption, docs/security.md)
    watcher = ModelWatcher(settings.models_dir)
    behaviour_watcher = behaviour_model.Watcher(settings.models_dir)
    verified_topic = settings.topic(topics.CHECKS_VERIFIED.name)
    source = app.topic(
        verified_topic,
        settings.topic(topics.SELLERS_ACTIVITY.name),
        partitions=settings.topic_partitions,
        key_serializer="raw",
        value_serializer="raw",
    )
    results_topic = pipeline.topics[topics.CHECKS_RESULTS.name].get_topic_name()
    alerts_topic = pipeline.topics[topics.RISK_ALERTS.name].get_topic_name()

    verified_in = handoff_of(app, CheckVerified)  # what this process's verify agent published
    results_out = handoff_of(app, CheckResult)  # for this process's sink
    alerts_out = handoff_of(app, RiskAlert)
    policy = StagePolicy(pipeline, STAGE)
    send_faults = StagePolicy(pipeline, "risk-send")  # only its fault injection is used

    def seller_of(stats: SellerBatch, read: dict[str, Any], tax_id: str) -> Any:
        """The seller's statistics as the batch left them (read from the table once per batch)."""
        if tax_id in stats:
            return stats[tax_id][1]
        return read[tax_id] if tax_id in read else sellers.get(tax_id)

    def prepare(
        item: CheckVerified,
        check: behaviour.Check | None,
        store: BatchProfiles | None,
        stats: SellerBatch,
        read: dict[str, Any],
    ) -> Prepared:
        """Features and rule hits of one verdict, under its organisation's rules, and its behaviour
        deviations from the profiles as they were before it (then it is folded into them): pure but
        for the local seller and profile lookups."""
        current = book.for_org(item.result.org_id)
        tax_id = item.context.seller_tax_id
        seller = seller_of(stats, read, tax_id) if tax_id else None
        found = None
        if check is not None and store is not None:
            found = behaviour.deviations(check, store)
            behaviour.observe_checked(store, check)
        features = risk_features.features(item.result, item.context, seller)
        # burst_length once per verdict: the rule's run is the feature's when their windows are equal
        days = param(current, "burst_days")
        run = int(features[BURST_FEATURE]) if days == risk_features.BURST_DAYS else None
        hits = evaluate_rules(item.result, item.context, seller, current, burst_run=run)
        return Prepared(item, current, features, hits, found)

    def with_behaviour(rows: list[Prepared]) -> list[Prepared]:
        """The rows with their `behaviour_anomaly` hit, if any (once per batch: vectorised)."""
        model = behaviour_watcher.current()
        presented = [i for i, row in enumerate(rows) if row.deviations]
        if model is None or not presented:
            return rows
        points = [weight(rows[i].rules, behaviour_model.REASON) for i in presented]
        found = [rows[i].deviations or [] for i in presented]
        out = list(rows)
        for i, hit in zip(presented, behaviour_model.batch_hits(model, found, points), strict=True):
            if hit is not None:
                out[i] = replace(rows[i], hits=[*rows[i].hits, hit])
        return out

    def batch_scores(
        model: AnomalyModel | None, rows: list[Prepared]
    ) -> tuple[list[Prepared], list[float | None]]:
        """The batch steps: behaviour hits and anomaly scores of the rows."""
        return with_behaviour(rows), model_scores(model, rows)

    def model_scores(model: AnomalyModel | None, rows: list[Prepared]) -> list[float | None]:
        if model is None or not rows:
            return [None] * len(rows)
        matrix = np.asarray([row.features for row in rows], dtype=float)
        return [float(s) for s in model.score(matrix)]

    def finished(
        event: faust.EventT, row: Prepared, model: AnomalyModel | None, model_score: float | None
    ) -> tuple[Message, Message | None, dict[str, str]]:
        """The encoded final result of one scored verdict, its alert if one is due, and the alert
        marks (alert table key -> time) to remember once the alert is in Kafka."""
        assessment = assess(
            row.hits,
            model_score,
            row.rules,
            model_version=model.version if model is not None else "",
            features=row.features,
        )
        plain = row.item.result
        result = finish.seal(plain, {"risk": assessment, "enrichment": enrich(plain)})  # one copy
        verdicts[result.verdict.value] += 1
        alert: Message | None = None
        marks: dict[str, str] = {}
        if should_alert(assessment, row.rules):
            set_current_event(event)  # the alert table's partition is the event's
            alert, marks = alert_of(result, row.rules, datetime.now(UTC))
        result, value = tagged(result, hmac_key)
        results_out.put(value, result)
        return (result.invoice_key.encode(), value), alert, marks

    async def score(
        batch: list[Verified],
        stores: dict[int, BatchProfiles],
        stats: SellerBatch,
        read: dict[str, Any],
        outbox: Outbox,
        marks: dict[str, Mark],
    ) -> None:
        """Rules and behaviour deviations per event, the models once per batch; an event whose
        scoring raises is dead-lettered alone (a model failure on the batch falls back to scoring
        each event by itself). The results and alerts go into the batch's outbox, which the caller
        flushes (Kafka holds them) before the batch is acknowledged; the alert marks raised go into
        `marks` (and `pending_marks`), written once the alerts are in Kafka."""
        model = watcher.current()
        prepared: list[tuple[faust.EventT, Prepared]] = []
        for event, item, check in batch:
            set_current_event(event)  # a table read goes to the current event's partition (RocksDB)
            row = await policy.run(event, partial(prepare, item, check, store_of(stores, event), stats, read))
            if row is not None:
                prepared.append((event, row))
        rows = [row for _, row in prepared]
        try:
            rows, scores = batch_scores(model, rows)
            prepared = [(event, row) for (event, _), row in zip(prepared, rows, strict=True)]
        except Exception as exc:  # one event the models cannot score: find it by scoring each alone
            policy.check_batch_error(exc)
            scored = []
            for event, row in prepared:
                single = await policy.run(event, partial(batch_scores, model, [row]))
                if single is not None:
                    scored.append(((event, single[0][0]), single[1][0]))
            prepared, scores = [p for p, _ in scored], [s for _, s in scored]
        await write_back(stores, outbox)
        verdicts.clear()
        results: list[Message] = []
        alerts: list[Message] = []
        for (event, row), model_score in zip(prepared, scores, strict=True):
            set_current_event(event)
            out = await policy.run(event, partial(finished, event, row, model, model_score))
            if out is not None:
                results.append(out[0])
                if out[1] is not None:
                    alerts.append(out[1])
                for key, at in out[2].items():
                    pending_marks[key] = marks[key] = (event, at)
        for verdict, n in verdicts.items():  # once per verdict and batch, not per result
            metrics.VERDICTS.labels(verdict=verdict).inc(n)
        # Sent back to back once all are encoded: sends spread over the scoring would each leave in a
        # produce request of their own once the producer's linger has passed; together they share a few.
        # Every result before the alerts (each alert after its result, as before).
        try:
            for event, _ in prepared:  # fault injection between scoring and sending (stage risk-send)
                send_faults.inject(event)
            for key, value in results:
                await outbox.send(results_topic, key, value)
            for key, value in alerts:
                await outbox.send(alerts_topic, key, value)
        except Exception as exc:  # a send failed: exit before the batch is acknowledged
            policy.on_crash(STAGE, exc)

    def alert_of(
        result: CheckResult, current: RiskRules, now: datetime
    ) -> tuple[Message | None, dict[str, str]]:
        """The encoded alert of a result above the threshold, or None if every reason was raised within
        its window (in the table or earlier in this batch), and the marks of the reasons raised now."""
        assessment = result.risk
        assert assessment is not None
        # once per organisation, invoice and reason per window: one tenant's alert never mutes another's
        keys = {r: f"{result.org_id}|{result.invoice_key}|{r}" for r in assessment.reasons}
        due = [r for r, key in keys.items() if alert_due(last_raised(key), now, current)]
        if not due:
            return None, {}
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
        value = alert.model_dump_json().encode()
        alerts_out.put(value, alert)
        return (result.invoice_key.encode(), value), {keys[reason]: now.isoformat() for reason in due}

    # Alert marks wait until the batch's alerts are in Kafka: a mark written first and a kill -9 before
    # the send would mute the redelivered event's alert for its whole window (a lost alert). Written
    # after the flush, a kill in between re-raises the alert with the same alert_id (at-least-once).
    # Until then they stay here, where the next batch (scored while this one's records are on their
    # way, bulk_feed's Finish) finds them: every mark raised and not yet in the table.
    pending_marks: dict[str, Mark] = {}
    verdicts: Counter[str] = Counter()  # results of the batch per verdict, for the metric

    def last_raised(key: str) -> Any:
        pending = pending_marks.get(key)
        return pending[1] if pending is not None else raised.get(key)

    def remember_marks(marks: dict[str, Mark]) -> None:
        """A finished batch's marks into the table (the batch's alerts are in Kafka)."""
        for key, mark in marks.items():
            event, at = mark
            set_current_event(event)  # each mark in its event's partition
            raised[key] = at
            if pending_marks.get(key) is mark:  # not raised again since by a later batch
                del pending_marks[key]

    def store_of(stores: dict[int, BatchProfiles], event: faust.EventT) -> BatchProfiles | None:
        """The batch's profiles of the event's partition (None with behaviour scoring off)."""
        if profiles is None:
            return None
        partition = event.message.partition
        if partition not in stores:
            # RocksDB decodes a new value per read: the batch owns it (memory:// would hand out its own)
            fresh = table_batch.rocks_store(profiles) is not None
            stores[partition] = BatchProfiles(profiles.get, partition, fresh=fresh)
            events_of[partition] = event
        return stores[partition]

    events_of: dict[int, faust.EventT] = {}  # an event of each partition of the batch, for write_back

    def preload_profiles(parsed: list[Parsed], stores: dict[int, BatchProfiles]) -> None:
        """The profiles the batch's issuances and presented checks fold into, read at once (one RocksDB
        multi-get per partition) before the first fold; anything else is read when first needed."""
        if profiles is None:
            return
        wanted: dict[int, set[str]] = {}
        first: dict[int, faust.EventT] = {}
        for event, item, check in parsed:
            if isinstance(item, SellerActivity):
                if item.kind != "issued":
                    continue
                keys = behaviour.profile_keys(item.seller_tax_id, item.buyer_tax_id, "")
            elif check is not None:
                keys = behaviour.profile_keys(check.seller, check.buyer, check.requester)
            else:
                continue
            partition = event.message.partition
            store_of(stores, event)
            first.setdefault(partition, event)
            wanted.setdefault(partition, set()).update(key for key in keys.values() if key)
        keyed = [(first[p], table_key(key, p)) for p, needed in wanted.items() for key in needed]
        found = table_batch.read_many(profiles, keyed)
        for p, needed in wanted.items():
            stores[p].preload({key: found[table_key(key, p)] for key in needed})

    async def write_back(stores: dict[int, BatchProfiles], outbox: Outbox) -> None:
        """Each profile the batch changed, once, in its partition: one RocksDB write batch per
        partition, the changelog records into the batch's outbox (streams/table_batch.py; faust's
        per-key path encoded each twice and sent its changelog records one at a time); redelivered
        events fold nothing twice (profile markers). A failure is a batch error: infrastructure
        crashes the worker unacked, anything else is logged and the batch's profile changes are lost
        (the results went out regardless)."""
        try:
            events: dict[str, faust.EventT] = {}
            values: dict[str, Any] = {}
            for partition, store in stores.items():
                for key, value in store.dirty():
                    events[key], values[key] = events_of[partition], value
            if values:
                async with table_batch.lock_of(profiles):
                    await table_batch.write_many(profiles, events, values, outbox)
        except Exception as exc:
            policy.check_batch_error(exc)
            log.exception("behaviour_profiles_not_written", partitions=sorted(stores))
        finally:
            stores.clear()
            events_of.clear()

    def parse(event: faust.EventT) -> Parsed:
        """The record decoded, and (behaviour on) a verdict's check as behaviour scoring reads it."""
        if event.message.topic == verified_topic:
            item = verified_in.take(event.value)  # (streams/handoff.py) else decoded, once
            if item is None:
                item = decode(CheckVerified, event.value)
            check = behaviour.check_of(item.result, item.context) if profiles is not None else None
            return event, item, check
        return event, decode(SellerActivity, event.value), None

    def seller_key(item: CheckVerified | SellerActivity) -> str:
        if isinstance(item, SellerActivity):
            return item.seller_tax_id
        return item.context.seller_tax_id

    def fold(
        event: faust.EventT,
        activity: SellerActivity,
        stores: dict[int, BatchProfiles],
        stats: SellerBatch,
        read: dict[str, Any],
    ) -> None:
        """One activity folded into its seller's statistics and (behaviour on) the profiles, in place
        into the batch's own copies (read once per batch)."""
        seller = activity.seller_tax_id
        if seller in stats:
            owned = stats[seller][1]
        else:
            owned = read.get(seller)
            if owned is not None and table_batch.rocks_store(sellers) is None:
                owned = seller_stats.copy_stats(owned)  # memory:// hands out the table's own value
        stats[seller] = (event, seller_stats.fold_activity_into(owned, activity))
        store = store_of(stores, event)
        if store is not None:
            behaviour.observe_issued(store, activity)

    async def store_sellers(stats: SellerBatch, outbox: Outbox) -> None:
        """Each seller's statistics the batch changed, once (streams/table_batch.py), in the partition
        of the seller's last activity of the batch (a failure raises: crash_only exits unacknowledged)."""
        events = {seller: event for seller, (event, _) in stats.items()}
        values = {seller: value for seller, (_, value) in stats.items()}
        async with table_batch.lock_of(sellers):
            await table_batch.write_many(sellers, events, values, outbox)

    async def risk_batch(events: list[faust.EventT]) -> bulk_feed.Finish:
        """One fetched batch (streams/bulk_feed.py): each record parsed once under the stage's policy,
        the statistics of the batch's sellers read at once, the activities folded, each changed seller
        written once, the verdicts scored; results, alerts and changelog records acknowledged by Kafka
        before the batch is (a failure there raises: crash_only). That wait, and the alert marks after
        it, are the batch's Finish: the feed scores its next queued batch meanwhile (as the verify and
        register agents)."""
        parsed: list[Parsed] = []
        for event in events:
            got = await policy.run(event, partial(parse, event))
            if got is not None:
                parsed.append(got)
        keyed = [(event, key) for event, item, _ in parsed if (key := seller_key(item))]
        read = table_batch.read_many(sellers, keyed)
        batch: list[Verified] = []
        stores: dict[int, BatchProfiles] = {}  # the batch's behaviour profiles, per partition
        preload_profiles(parsed, stores)
        stats: SellerBatch = {}  # the sellers the batch folded: written once
        for event, item, check in parsed:
            if isinstance(item, CheckVerified):
                batch.append((event, item, check))
                continue
            set_current_event(event)
            await policy.run(event, partial(fold, event, item, stores, stats, read))
        outbox = Outbox(app)
        marks: dict[str, Mark] = {}  # the batch's alert marks
        await store_sellers(stats, outbox)
        if batch:
            await score(batch, stores, stats, read, outbox, marks)
        else:
            await write_back(stores, outbox)

        async def acknowledged() -> None:
            await outbox.flush()
            remember_marks(marks)

        return acknowledged

    async def reload_model() -> None:
        if watcher.poll():
            model = watcher.current()
            log.info("risk_model_loaded", version=model.version if model else None)
        if profiles is not None and behaviour_watcher.poll():
            log.info("behaviour_model_loaded", path=str(behaviour_watcher.path))

    async def rules_task() -> None:
        await follow_rules(settings, book)

    handler = crash_only(policy, risk_batch)
    bulk_feed.attach(app, source, handler, name=STAGE, batch_size=settings.risk_batch_size)
    attach_retention(pipeline, sellers, raised)
    app.timer(settings.model_poll_seconds, name="reload_model")(reload_model)
    app.task(rules_task)
