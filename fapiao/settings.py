"""The one settings object. Only entry points (CLI commands, app factories) construct it."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRET = "change-me-development-only"


class Settings(BaseSettings):
    """Every knob of every process, read from `FAPIAO_*` environment variables (or `.env`)."""

    model_config = SettingsConfigDict(env_prefix="FAPIAO_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    log_level: str = "INFO"
    log_json: bool = True
    timezone: str = "Asia/Shanghai"

    # Kafka
    kafka_bootstrap: str = "127.0.0.1:9092"
    topic_prefix: str = Field(
        default="", description="Prefix for every topic, consumer group and Faust app id (test isolation)."
    )
    # Partitions of every topic (the co-partitioned ones can never change without re-keying): 12 lets 1,
    # 2, 3, 4, 6 or 12 worker processes share them evenly (docs/architecture.md#capacity). An existing
    # deployment keeps the count its topics were created with (set FAPIAO_TOPIC_PARTITIONS to it).
    topic_partitions: int = Field(default=12, ge=1)
    topic_replication: int = Field(default=1, ge=1)
    # Cluster (deploy/local/cluster.sh env): FAPIAO_KAFKA_BOOTSTRAP names every broker
    # ("h1:p1,h2:p2,h3:p3"), topics get 3 replicas and need 2 in sync to take a write (acks=all).
    topic_min_insync_replicas: int = Field(default=1, ge=1)
    # Kafka authentication, applied by every client (see fapiao.kafka_auth): PLAINTEXT for the local
    # broker; SASL/SCRAM with a per-service principal (fapiao.kafka_acls) in docker-compose.
    kafka_security_protocol: Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    kafka_username: str = ""
    kafka_password: SecretStr = SecretStr("")
    kafka_ssl_cafile: Path | None = Field(default=None, description="CA file for SASL_SSL")
    # Kafka intake of enterprise systems (fapiao.kafka_intake): `principal=org_id,…`. Each principal may
    # write only its topic checks.intake.<principal> (ACL); the worker forwards those checks onto
    # checks.requested with that organisation, whatever the payload's org_id says.
    kafka_intake: str = ""
    # How long every producer (the Faust worker's and the API's/CLI's aiokafka publishers) waits to fill
    # a batch before sending it. 0: a batch's records, handed over back to back (streams/outbox.py), leave
    # in one produce request at once; 1 ms sent a verify batch's changelog records and its verdicts in
    # two requests one after the other (aiokafka has one in flight per broker, so records that come
    # meanwhile still share the next one). docs/benchmarks.md, issue 14 sync latency.
    producer_linger_ms: int = Field(default=0, ge=0, le=1000)
    # The worker's Kafka clients at volume (issue 13, the register's bulk feed; measured in
    # docs/benchmarks.md, "register fold"): the most bytes of records the producer puts in one batch per
    # partition (faust's default, 16 KiB, fits one seller-statistics value; the broker takes at most
    # 1 MiB), and the most a fetch returns per partition (faust's default 1 MiB; 8 MiB measured back to
    # back: the register's fold 16,016-16,373/s -> 18,705-18,712/s at 200k, 17,048/17,338 -> 19,060/17,759/s
    # at 1M, worker RSS +110-150 MiB; aiokafka's 50 MiB per fetch response still bounds one fetch:
    # docs/benchmarks.md, "The register fold's fetch").
    producer_max_batch_bytes: int = Field(default=1_000_000, ge=16 * 1024, le=1_000_000)
    consumer_max_fetch_bytes: int = Field(default=8 * 2**20, ge=64 * 1024, le=64 * 2**20)
    # How stale a Kafka client's view of partition leaders may get (aiokafka and faust: 5 min). aiokafka
    # does not refresh it when a ListOffsets (an offset reset) hits a broker that is no longer the
    # leader: it retries that broker until the next refresh, and fetches from that broker wait behind
    # it (a sink stalled > 90 s after a broker restart, clean-clone run 17). A refresh costs one small
    # request per client per interval.
    kafka_metadata_max_age_ms: int = Field(default=5_000, ge=1_000, le=300_000)

    # Faust worker
    app_id: str = "fapiao-sentinel"
    # Tables on disk (RocksDB, rocksdict driver: streams/table_store.py) with the changelog offset they
    # reflect, so a restart reads only the changelog tail; `memory://` rebuilds every table from its whole
    # changelog at each start (only unit tests that ask for it). One data dir per worker process.
    faust_store: str = "rocksdb://"
    data_dir: Path = Path(".local/worker")
    worker_metrics_port: int = Field(default=0, description="Prometheus port of the worker; 0 disables it.")
    # Crash recovery: a worker killed -9 holds its partitions until its group session times out; with
    # `worker_instance_id` (static membership, unique per worker) a restarted worker takes them back at once.
    # 6 s (Kafka's minimum): a survivor takes a dead worker's partitions ~6 s after a kill -9; a live one is
    # taken for dead only if its event loop sends no heartbeat for ~5 s (docs/operations.md, measured at
    # load 12 with no spurious rebalance: docs/benchmarks.md chaos-failover).
    worker_session_timeout_seconds: float = Field(default=6.0, ge=6, le=300)
    worker_heartbeat_seconds: float = Field(default=1.0, gt=0, le=30)
    worker_instance_id: str = Field(default="", max_length=200, description="Kafka group.instance.id; '' off")
    # Fault injection, for the fault-injection tests and `python -m bench chaos` only (refused in
    # production): an event whose raw value contains `fault_marker` raises in each stage of `fault_stages`
    # (verify, register, risk, risk-send = after scoring, before sending, sink): a poison pill
    # (`poison`) or an infrastructure failure.
    fault_marker: str = Field(default="", max_length=200)
    fault_stages: str = ""
    fault_kind: Literal["poison", "infrastructure"] = "poison"
    # The API's and the worker's young-generation GC threshold (fapiao.loop_monitor.freeze_start_up_heap;
    # 0: Python's 700): fewer, later full collections, each a stall of every check in flight
    # (docs/benchmarks.md, issue 14 sync latency).
    gc_young_threshold: int = Field(default=10_000, ge=0, le=1_000_000)
    loop_probe_seconds: float = Field(
        default=0.05,
        gt=0,
        description="period of the API's and the worker's event-loop lag probes "
        "(fapiao_api_event_loop_lag_seconds, fapiao_worker_event_loop_lag_seconds)",
    )

    # Sync delay: a check of an invoice issued within this window that is not in the register yet is
    # held as pending_sync, re-verified when the issuance arrives, and 查无此票 when the window ends.
    sync_window_seconds: float = Field(default=24 * 3600, gt=0)
    sync_sweep_seconds: float = Field(default=60, gt=0)
    # Retention of the worker's tables (fapiao/domain/retention.py, streams/table_sweep.py): every this
    # often each table's next `table_sweep_chunk` entries per partition are read and the expired ones
    # deleted (tombstones); a full pass over P partitions of E entries takes E / (P x chunk) runs.
    table_sweep_seconds: float = Field(default=60, gt=0)
    table_sweep_chunk: int = Field(default=2000, ge=1)

    # Risk scoring. With risk_enabled off the worker publishes verdicts straight to checks.results
    # (verify-only pipeline).
    risk_enabled: bool = True
    # The register, verify and risk agents take records in the batches faust's consumer fetches them, at
    # most this many (streams/bulk_feed.py; no time window: a fetch hands on what it has at once): each
    # entry a batch touches is read and written once, and the outputs go out back to back.
    register_batch_size: int = Field(default=2000, ge=1)
    verify_batch_size: int = Field(default=500, ge=1)
    risk_batch_size: int = Field(default=500, ge=1)
    # Behaviour scoring in the risk agent (issue 20, docs/risk-model.md): profiles folded in the
    # behaviour_profiles table and a `behaviour_anomaly` hit once a calibrated model (models_dir /
    # behaviour.json) is there. Off: the agent neither keeps the profiles nor scores behaviour.
    # Off by default: measured, it takes the risk stage further over its budget (docs/benchmarks.md,
    # "Behaviour scoring in the worker"), and seller_burst fires on checks that arrive in bulk.
    risk_behaviour: bool = False
    models_dir: Path = Path(".local/models")
    model_poll_seconds: float = Field(default=5.0, gt=0)

    # ClickHouse
    clickhouse_host: str = "127.0.0.1"
    clickhouse_port: int = 9000
    clickhouse_user: str = "default"
    clickhouse_password: SecretStr = SecretStr("")
    clickhouse_database: str = "fapiao"
    # A sharded, replicated cluster (remote_servers name; "" = one server): migrations make
    # Replicated local tables + Distributed tables (fapiao.warehouse.cluster_ddl), inserts are
    # synchronous. Alt hosts ("h:p,h:p", other nodes) are where clients reconnect when the host fails.
    clickhouse_cluster: str = ""
    clickhouse_alt_hosts: str = ""

    # ClickHouse sink batching: a batch is written when it has this many rows or is this old.
    sink_batch_rows: int = Field(default=2000, ge=1)
    sink_batch_seconds: float = Field(default=0.5, gt=0)
    # The sink's fetches: the broker holds one until it has this many bytes of records or
    # `sink_batch_seconds` have passed, so checks coming alone (sync checks) cost the sink a fetch
    # per batch time, not one each (1: a fetch per record as it comes; docs/benchmarks.md, issue 14).
    sink_fetch_min_bytes: int = Field(default=256 * 1024, ge=1, le=16 * 2**20)
    sink_retry_max_seconds: float = Field(default=30.0, gt=0)
    # Trend counts computed ahead of the dashboards (fapiao.warehouse.count_warmer): the worker's leader
    # computes the exact figures of the rollup units of the last N days this often (0: never), so a
    # first request over a long range reads them instead of computing a year of units.
    analytics_warm_seconds: float = Field(default=300.0, ge=0)
    analytics_warm_days: int = Field(default=400, ge=1, le=3700)

    # Intake API
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_results_cache_size: int = Field(default=100_000, ge=100)
    api_max_wait_seconds: float = Field(default=10.0, gt=0)

    # Batches (POST /v1/batches): bigger uploads are refused with 413; rows are read, published and
    # stored this many at a time, so a 100,000-row file never sits in memory whole.
    batch_max_upload_bytes: int = Field(default=200 * 1024 * 1024, ge=1)
    batch_chunk_rows: int = Field(default=2000, ge=1)

    # Reading uploaded documents (PDF/OFD/XML) happens in worker processes (fapiao.documents.pool), never
    # in the API's own: each limited to this much address space and this long per document.
    document_workers: int = Field(default=2, ge=1, le=32)
    document_memory_mb: int = Field(default=768, ge=256)
    document_timeout_seconds: float = Field(default=20.0, gt=0)
    api_max_body_bytes: int = Field(default=1 << 20, ge=1024, description="larger bodies get 413")
    api_max_upload_bytes: int = Field(
        default=256 << 20, ge=1024, description="413 limit for non-JSON bodies (uploads); routes may say less"
    )
    api_key_rate_per_minute: int = Field(default=600, ge=1, description="per API key, unless the key has one")
    api_key_cache_seconds: float = Field(
        default=10.0, ge=0, description="how long an authenticated API key is trusted without a lookup"
    )

    # Webhooks (`fapiao webhooks`): how long one delivery attempt may take before it counts as failed.
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    webhook_first_retry_seconds: float = Field(default=5.0, gt=0, description="then doubling, at most 1 h")
    webhook_max_attempts: int = Field(default=12, ge=1, description="then the delivery is failed")
    webhook_pause_after_failures: int = Field(
        default=10, ge=1, description="consecutive: pause the subscription"
    )

    # Hardening of the API (issue 16): a request's headers must arrive within this many seconds and
    # stay under this size (431 beyond); /metrics needs this bearer token when set (else: loopback only);
    # login, registration and resets are limited per client IP and per email, and at most this many
    # password hashes (argon2id, 64 MiB each) run at once, so a flood of logins cannot starve the rest.
    api_header_timeout_seconds: float = Field(default=10.0, gt=0)
    api_max_header_bytes: int = Field(default=64 * 1024, ge=4096)
    metrics_token: SecretStr = SecretStr("")
    auth_rate_per_ip_per_minute: int = Field(default=30, ge=1)
    auth_rate_per_email_per_minute: int = Field(default=10, ge=1)
    auth_hash_concurrency: int = Field(default=2, ge=1)

    # Accounts and sessions. The secret signs session tokens; production refuses the placeholder.
    secret_key: SecretStr = SecretStr(PLACEHOLDER_SECRET)
    accounts_url: str = Field(default="sqlite:///.local/accounts.db", description="SQLAlchemy URL")
    session_ttl_seconds: int = Field(default=900, ge=30)
    password_reset_ttl_seconds: int = Field(default=1800, ge=60)

    # Mail (fapiao.mail): password resets and invitations are sent by SMTP, never returned by the API.
    # Empty host: no mail (the API then hands out no reset or invitation token at all). TLS: "starttls"
    # upgrades a plain connection (port 587), "ssl" is TLS from the first byte (465), "none" for a
    # relay on localhost only. public_url is where the links in the messages point.
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_tls: Literal["none", "starttls", "ssl"] = "starttls"
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_from: str = "Fapiao Sentinel <no-reply@localhost>"
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    public_url: str = "http://127.0.0.1:8000"
    # Local development and the integration tests only (`make run` sets it): reset and invitation
    # tokens are also returned in the API's answers, and a warning says so at every start. Refused in
    # production.
    dev_expose_tokens: bool = False

    # 国密 keys: SM4 keys `k1:<32 hex>,k2:<32 hex>` (the active one encrypts), the HMAC-SM3 key, and the
    # folder of the SM2 receipt key pair. Outside production, unset SM4/HMAC keys derive from secret_key.
    sm4_keys: SecretStr = SecretStr("")
    sm4_active_key: str = ""
    hmac_key: SecretStr = SecretStr("")
    keys_dir: Path = Path(".local/keys")
    # Field encryption: the worker seals taxpayer ids, names, bank accounts and requesters (SM4-GCM, plus
    # HMAC-SM3 pseudonyms for analytics) in every result and alert it publishes, so they rest sealed in
    # Kafka and ClickHouse (docs/security.md). Off only to measure its cost (bench encryption): results
    # then carry plaintext and the analytics by seller, buyer or requester see nothing.
    field_encryption: bool = True

    @model_validator(mode="after")
    def _no_placeholder_secrets_in_production(self) -> Settings:
        if self.env == "production":
            secret = self.secret_key.get_secret_value()
            if secret == PLACEHOLDER_SECRET or len(secret) < 32:
                raise ValueError("FAPIAO_SECRET_KEY must be set (32+ characters) when FAPIAO_ENV=production")
            if not self.sm4_keys.get_secret_value() or not self.hmac_key.get_secret_value():
                raise ValueError("FAPIAO_SM4_KEYS and FAPIAO_HMAC_KEY must be set when FAPIAO_ENV=production")
            if self.dev_expose_tokens:
                raise ValueError("FAPIAO_DEV_EXPOSE_TOKENS is for local development only, not production")
        return self

    @model_validator(mode="after")
    def _no_fault_injection_in_production(self) -> Settings:
        if self.env == "production" and self.fault_marker:
            raise ValueError("FAPIAO_FAULT_MARKER (fault injection) is refused when FAPIAO_ENV=production")
        return self

    @model_validator(mode="after")
    def _sasl_needs_credentials(self) -> Settings:
        if self.kafka_security_protocol != "PLAINTEXT" and not (
            self.kafka_username and self.kafka_password.get_secret_value()
        ):
            protocol = self.kafka_security_protocol
            raise ValueError(f"FAPIAO_KAFKA_USERNAME and FAPIAO_KAFKA_PASSWORD must be set for {protocol}")
        return self

    @property
    def faust_app_id(self) -> str:
        return f"{self.topic_prefix}{self.app_id}"

    @property
    def sink_group(self) -> str:
        """The ClickHouse sink's own consumer group (streams/sink.py), beside the faust app's."""
        return f"{self.faust_app_id}-sink"

    def faust_brokers(self) -> list[str]:
        """The bootstrap list as Faust wants it: one kafka:// URL per broker."""
        return [f"kafka://{host.strip()}" for host in self.kafka_bootstrap.split(",") if host.strip()]

    def topic(self, base: str) -> str:
        """The real topic name for a logical topic name such as `checks.requested`."""
        return f"{self.topic_prefix}{base}"
