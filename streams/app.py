"""Builds the one Faust app of the worker: its topics, tables and agents, from a Settings object.

A factory rather than module-level globals, so that each test (and each deployment) gets its own
topic prefix, consumer group and state, and nothing connects or reads the environment at import.
"""

from __future__ import annotations

from dataclasses import dataclass

import faust

from fapiao import loop_monitor, topics
from fapiao.kafka_auth import faust_credentials
from fapiao.settings import Settings
from streams import bulk_feed
from streams.changelogs import COMPACTED_CHANGELOG
from streams.flow_control import App
from streams.recovery_guard import TableManager
from streams.table_store import register as register_table_store
from streams.tables import Table

register_table_store()  # rocksdb:// is streams.table_store.RocksStore (faust's store, rocksdict driver)


@dataclass
class Pipeline:
    settings: Settings
    app: faust.App
    topics: dict[str, faust.TopicT]
    register: faust.types.TableT
    sync_holds: faust.types.TableT  # invoice key -> its checks held for sync delay (register.held_checks)


def json_table(app: faust.App, name: str, partitions: int) -> faust.types.TableT:
    """A table of JSON keys and values (None when absent), its changelog compacted in small segments."""
    return app.Table(
        name,
        default=None,
        partitions=partitions,
        extra_topic_configs=COMPACTED_CHANGELOG,
        schema=faust.Schema(key_serializer="json", value_serializer="json"),
    )


def create_app(settings: Settings) -> Pipeline:
    datadir = settings.data_dir / settings.faust_app_id
    datadir.parent.mkdir(parents=True, exist_ok=True)
    app = App(  # faust.App keeping fetched records at start-up: streams/flow_control.py
        settings.faust_app_id,
        broker=settings.faust_brokers(),  # every broker of the bootstrap list
        broker_credentials=faust_credentials(settings),
        store=settings.faust_store,
        Table=Table,  # app.Table: faust's, safe on a just-created changelog (streams/tables.py)
        TableManager=TableManager,  # recovery never seeks a partition it has not looked up (recovery_guard)
        datadir=str(datadir),
        autodiscover=False,
        web_enabled=False,
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication,
        topic_allow_declare=True,
        consumer_auto_offset_reset="earliest",
        processing_guarantee="at_least_once",
        key_serializer="raw",
        value_serializer="raw",
        producer_linger=settings.producer_linger_ms / 1000,  # seconds (producer_linger_ms is deprecated)
        producer_max_batch_size=settings.producer_max_batch_bytes,
        consumer_max_fetch_size=settings.consumer_max_fetch_bytes,
        consumer_metadata_max_age_ms=settings.kafka_metadata_max_age_ms,
        producer_metadata_max_age_ms=settings.kafka_metadata_max_age_ms,
        stream_wait_empty=False,
        broker_session_timeout=settings.worker_session_timeout_seconds,
        broker_heartbeat_interval=settings.worker_heartbeat_seconds,
        consumer_group_instance_id=settings.worker_instance_id or None,
        table_standby_replicas=1,  # a failover finds the table (nearly) current on the other worker
    )
    # acks=all + idempotence (streams/idempotent_producer.py); never a commit past an unprocessed record
    # and the records of bulk-fed topics taken in fetched batches (streams/bulk_feed.py)
    app.transport = bulk_feed.Transport(app.conf.broker_consumer, app)
    declared = {
        spec.name: app.topic(
            settings.topic(spec.name),
            partitions=settings.topic_partitions,
            key_serializer="raw",
            value_serializer="raw",
        )
        for spec in topics.ALL
    }
    # Keyed by invoice key, co-partitioned with invoices.* and checks.requested (same key, same count).
    register = json_table(app, "register", settings.topic_partitions)
    # Kept from the register's entries in the same batches (streams/batch_events.Index), so the sweep
    # that ends sync-delay holds reads this small table, never the whole register.
    sync_holds = json_table(app, "sync_holds", settings.topic_partitions)
    pipeline = Pipeline(settings=settings, app=app, topics=declared, register=register, sync_holds=sync_holds)

    from streams import count_warmer, intake_forwarder, register_agent, risk_agent, sink, verify_agent

    register_agent.attach(pipeline)
    verify_agent.attach(pipeline)
    if settings.risk_enabled:
        risk_agent.attach(pipeline)
    sink.attach(pipeline)  # its own aiokafka consumer group, not a faust agent
    count_warmer.attach(pipeline)
    intake_forwarder.attach(pipeline)  # organisations' own systems over Kafka (FAPIAO_KAFKA_INTAKE)

    @app.task
    async def watch_loop() -> None:  # the worker's stall probe (fapiao_worker_event_loop_lag_seconds)
        await loop_monitor.watch_loop(settings.loop_probe_seconds, loop_monitor.WORKER.loop_lag.observe)

    return pipeline
