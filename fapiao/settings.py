"""The one settings object. Only entry points (CLI commands, app factories) construct it."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    topic_partitions: int = Field(default=4, ge=1)
    topic_replication: int = Field(default=1, ge=1)

    # Faust worker
    app_id: str = "fapiao-sentinel"
    faust_store: str = "memory://"
    data_dir: Path = Path(".local/worker")
    worker_metrics_port: int = Field(default=0, description="Prometheus port of the worker; 0 disables it.")

    # Sync delay: a check of an invoice issued within this window that is not in the register yet is
    # held as pending_sync, re-verified when the issuance arrives, and 查无此票 when the window ends.
    sync_window_seconds: float = Field(default=24 * 3600, gt=0)
    sync_sweep_seconds: float = Field(default=60, gt=0)

    # Risk scoring: verdicts are scored in batches of at most this many, or this old.
    risk_batch_size: int = Field(default=500, ge=1)
    risk_batch_seconds: float = Field(default=0.005, gt=0)
    models_dir: Path = Path(".local/models")
    model_poll_seconds: float = Field(default=5.0, gt=0)

    # ClickHouse
    clickhouse_host: str = "127.0.0.1"
    clickhouse_port: int = 9000
    clickhouse_user: str = "default"
    clickhouse_password: SecretStr = SecretStr("")
    clickhouse_database: str = "fapiao"

    # ClickHouse sink batching: a batch is written when it has this many rows or is this old.
    sink_batch_rows: int = Field(default=2000, ge=1)
    sink_batch_seconds: float = Field(default=0.5, gt=0)
    sink_retry_max_seconds: float = Field(default=30.0, gt=0)

    # Intake API
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_results_cache_size: int = Field(default=100_000, ge=100)
    api_max_wait_seconds: float = Field(default=10.0, gt=0)

    @property
    def faust_app_id(self) -> str:
        return f"{self.topic_prefix}{self.app_id}"

    def topic(self, base: str) -> str:
        """The real topic name for a logical topic name such as `checks.requested`."""
        return f"{self.topic_prefix}{base}"
