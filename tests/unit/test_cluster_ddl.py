"""The migrations rewritten for a sharded, replicated cluster (fapiao.warehouse.cluster_ddl), and the
cluster runner's routing of each step to every node, one replica per shard, or one node. The rewritten
DDL itself runs on the real 18.16 cluster in tests/integration/test_cluster_failures.py."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pytest

from fapiao.settings import Settings
from fapiao.warehouse import cluster_ddl, migrations
from fapiao.warehouse.cluster_ddl import Step


def _plan() -> dict[int, list[Step]]:
    found = migrations.load()
    return cluster_ddl.plan([(m.version, m.statements) for m in found], "fapiao", "db1")


def _all_steps() -> list[Step]:
    return [step for steps in _plan().values() for step in steps]


def test_every_merge_tree_table_becomes_a_replicated_local_table_and_a_distributed_one() -> None:
    steps = _all_steps()
    created = [re.match(r"CREATE TABLE IF NOT EXISTS (\w+)", s.sql) for s in steps]
    names = {m.group(1) for m in created if m}
    assert {"check_results", "check_results_local", "risk_alerts_local", "checks_hourly_local"} <= names
    local = next(s.sql for s in steps if s.sql.startswith("CREATE TABLE IF NOT EXISTS check_results_local"))
    assert (
        "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/db1/check_results_local', "
        "'{replica}', result_version)" in local
    )
    assert "ORDER BY (org_id, requested_date, check_id)" in local
    distributed = next(
        s.sql for s in steps if s.sql.startswith("CREATE TABLE IF NOT EXISTS check_results AS")
    )
    assert distributed.endswith(
        "ENGINE = Distributed(fapiao, db1, check_results_local, cityHash64(toString(check_id)))"
    )
    # nested engine arguments survive: SummingMergeTree((results, problem_results))
    monthly = next(
        s.sql for s in _plan()[10] if s.sql.startswith("CREATE TABLE IF NOT EXISTS sellers_monthly_local")
    )
    assert "'{replica}', (results, problem_results))" in monthly
    assert not any(
        "ENGINE = ReplacingMergeTree" in s.sql or "ENGINE = AggregatingMergeTree" in s.sql for s in steps
    )


@pytest.mark.parametrize(
    ("order_by", "key"),
    [
        ("(org_id, requested_date, check_id)", "cityHash64(toString(check_id))"),
        ("check_id", "cityHash64(toString(check_id))"),
        ("(org_id, batch_id)", "cityHash64(toString(org_id), toString(batch_id))"),
        (
            "(org_id, raised_date, alert_id)",
            "cityHash64(toString(org_id), toString(raised_date), toString(alert_id))",
        ),
    ],
)
def test_sharding_key_keeps_every_row_of_one_sorting_key_on_one_shard(order_by: str, key: str) -> None:
    assert cluster_ddl.sharding_key(order_by) == key


def test_materialized_views_and_backfills_go_on_the_local_tables() -> None:
    steps = _all_steps()
    views = [s for s in steps if s.sql.startswith("CREATE MATERIALIZED VIEW")]
    assert views and all(s.scope == "node" for s in views)
    for view in views:
        target = re.search(r"\bTO (\w+)", view.sql)
        source = re.search(r"\bFROM (\w+)", view.sql)
        assert target and target.group(1).endswith("_local"), view.sql
        assert source and source.group(1) == "check_results_local", view.sql
    backfills = [s for s in steps if s.sql.startswith("INSERT INTO")]
    assert backfills and all(s.scope == "shard" for s in backfills)
    assert all(
        re.match(r"INSERT INTO \w+_local", s.sql) and "FROM check_results " not in s.sql for s in backfills
    )
    # 012 copies sellers_daily into seller_days: both local
    copy = next(s.sql for s in backfills if s.sql.startswith("INSERT INTO seller_days_local"))
    assert "FROM sellers_daily_local" in copy


def test_columns_are_added_to_the_local_table_once_per_shard_and_to_every_distributed_table() -> None:
    steps = _plan()[10]
    added = [s for s in steps if "ADD COLUMN seller_ref" in s.sql and "check_results" in s.sql]
    assert added == [
        Step("shard", "ALTER TABLE check_results_local ADD COLUMN seller_ref String"),
        Step("node", "ALTER TABLE check_results ADD COLUMN seller_ref String"),
    ]


def test_dropping_a_sharded_table_drops_both_and_views_read_through_the_distributed_table() -> None:
    steps = _plan()[13]
    assert Step("node", "DROP TABLE IF EXISTS check_parties") in steps
    assert Step("node", "DROP TABLE IF EXISTS check_parties_local") in steps
    views = [s.sql for s in _all_steps() if s.sql.startswith("CREATE VIEW")]
    assert any("FROM check_results FINAL" in v for v in views)  # BI views: through Distributed


def test_plan_refuses_names_that_are_not_identifiers() -> None:
    with pytest.raises(ValueError, match="identifiers"):
        cluster_ddl.plan([], "fapiao", "db; DROP")


class _Recorder:
    """An engine that remembers the statements it ran and keeps a ledger (pure routing test)."""

    def __init__(self, database: str = "db1") -> None:
        self.database = database
        self.ran: list[str] = []
        self.versions: set[int] = set()

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        if sql.startswith("SELECT version FROM schema_migrations"):
            return [(v,) for v in sorted(self.versions)]
        if "system.columns" in sql:
            return [(0,)]
        if "schema_migrations" not in sql:
            self.ran.append(sql)
        return []

    def insert(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        self.versions |= {int(r[0]) for r in rows}
        return 1


def test_cluster_runner_routes_steps_and_is_idempotent() -> None:
    engines = [_Recorder() for _ in range(4)]
    nodes = [migrations.Node(e, shard_leader=i % 2 == 0) for i, e in enumerate(engines)]
    applied = migrations.migrate_cluster(nodes, "fapiao")  # type: ignore[arg-type]
    assert [m.version for m in applied] == [m.version for m in migrations.load()]
    leader, follower = engines[0].ran, engines[1].ran
    assert any(s.startswith("CREATE TABLE IF NOT EXISTS check_results_local") for s in follower)
    backfills = [s for s in leader if s.startswith("INSERT INTO")]
    assert backfills and not any(s.startswith("INSERT INTO") for s in follower)
    assert engines[2].ran == leader and engines[3].ran == follower
    assert migrations.migrate_cluster(nodes, "fapiao") == []  # type: ignore[arg-type]
    # a node that lost its ledger (a new replica) gets the migrations again, and only it
    engines[3].versions.clear()
    engines[3].ran.clear()
    before = len(engines[0].ran)
    assert len(migrations.migrate_cluster(nodes, "fapiao")) == len(applied)  # type: ignore[arg-type]
    assert engines[3].ran == follower and len(engines[0].ran) == before


def test_settings_name_every_broker_for_faust() -> None:
    settings = Settings(kafka_bootstrap="127.0.0.1:19091, 127.0.0.1:19092,127.0.0.1:19093")
    assert settings.faust_brokers() == [
        "kafka://127.0.0.1:19091",
        "kafka://127.0.0.1:19092",
        "kafka://127.0.0.1:19093",
    ]
    assert Settings().faust_brokers() == ["kafka://127.0.0.1:9092"]  # single node stays the default
    assert Settings().clickhouse_cluster == "" and Settings().topic_replication == 1


def test_the_worker_producer_is_idempotent_with_acks_all() -> None:
    from streams.app import create_app
    from streams.idempotent_producer import IdempotentProducer

    producer = create_app(Settings(kafka_bootstrap="127.0.0.1:19091,127.0.0.1:19092")).app.producer
    assert isinstance(producer, IdempotentProducer)
    assert producer._settings_extra() == {"acks": "all", "enable_idempotence": True}
    assert producer._settings_default()["bootstrap_servers"] == ["127.0.0.1:19091", "127.0.0.1:19092"]
