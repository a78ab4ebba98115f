"""Numbered SQL migrations under deploy/clickhouse/, applied once each, in order.

A migration file holds statements separated by `;` at line ends. Each statement must itself be
idempotent (`IF NOT EXISTS`), so a migration interrupted half-way can simply be run again; a
single-column `ALTER TABLE … ADD COLUMN` is skipped when the column exists (18.16 lacks IF NOT EXISTS).

On a cluster (`migrate_cluster`, settings.clickhouse_cluster) the same files are rewritten by
fapiao.warehouse.cluster_ddl (Replicated local tables, Distributed tables over them) and run node by
node; each node keeps its own ledger, so a re-run finishes what an interrupted one left.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from fapiao.settings import Settings
from fapiao.warehouse import cluster_ddl
from fapiao.warehouse.engine import Engine, NativeEngine

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "deploy" / "clickhouse"
_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")

LEDGER_DDL = """
CREATE TABLE IF NOT EXISTS schema_migrations
(
    version UInt32,
    name String,
    applied_at DateTime('UTC') DEFAULT now()
)
ENGINE = ReplacingMergeTree()
ORDER BY version
"""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


def split_statements(sql: str) -> tuple[str, ...]:
    """Statements of a migration file; `--` comment lines are dropped."""
    lines = [ln for ln in sql.splitlines() if not ln.lstrip().startswith("--")]
    parts = re.split(r";\s*$", "\n".join(lines), flags=re.MULTILINE)
    return tuple(p.strip() for p in parts if p.strip())


def load(directory: Path = DEFAULT_DIR) -> list[Migration]:
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise ValueError(f"migration file name must look like 001_name.sql: {path.name}")
        found.append(Migration(int(match.group(1)), path.stem, split_statements(path.read_text("utf-8"))))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise ValueError(f"duplicate migration numbers in {directory}")
    return found


_ADD_COLUMN = re.compile(r"^ALTER\s+TABLE\s+(\w+)\s+ADD\s+COLUMN\s+(\w+)\s+[^,]+$", re.IGNORECASE)


def added_column(statement: str) -> tuple[str, str] | None:
    """(table, column) of a single-column `ALTER TABLE t ADD COLUMN c <type>`, else None."""
    match = _ADD_COLUMN.match(statement.strip())
    return (match.group(1), match.group(2)) if match else None


def _column_exists(engine: Engine, table: str, column: str) -> bool:
    rows = engine.execute(
        "SELECT count() FROM system.columns WHERE database = currentDatabase() "
        "AND table = %(table)s AND name = %(column)s",
        {"table": table, "column": column},
    )
    return bool(rows and int(rows[0][0]))


def applied_versions(engine: Engine) -> set[int]:
    engine.execute(LEDGER_DDL)
    return {int(row[0]) for row in engine.execute("SELECT version FROM schema_migrations")}


def _run(engine: Engine, statement: str) -> None:
    # 18.16 has no ADD COLUMN IF NOT EXISTS: a re-run after an interruption skips added columns
    added = added_column(statement)
    if added is None or not _column_exists(engine, *added):
        engine.execute(statement)


def _record(engine: Engine, migration: Migration) -> None:
    engine.insert("schema_migrations", ("version", "name"), [(migration.version, migration.name)])


def migrate(engine: Engine, directory: Path = DEFAULT_DIR) -> list[Migration]:
    """Apply every migration not yet applied; returns those applied now."""
    done = applied_versions(engine)
    applied = []
    for migration in load(directory):
        if migration.version in done:
            continue
        for statement in migration.statements:
            _run(engine, statement)
        _record(engine, migration)
        applied.append(migration)
    return applied


@dataclass(frozen=True)
class Node:
    """A cluster node: its engine, and whether it is the first replica of its shard (where the
    once-per-shard steps run)."""

    engine: Engine
    shard_leader: bool


def migrate_cluster(nodes: list[Node], cluster: str, directory: Path = DEFAULT_DIR) -> list[Migration]:
    """Apply every migration some node has not applied yet, rewritten for `cluster`, statement by
    statement across the nodes that lack it; returns the migrations applied now (on any node)."""
    if not nodes:
        raise ValueError(f"cluster {cluster!r} has no nodes")
    database = nodes[0].engine.database
    found = load(directory)
    steps = cluster_ddl.plan([(m.version, m.statements) for m in found], cluster, database)
    done = [applied_versions(node.engine) for node in nodes]
    applied = []
    for migration in found:
        pending = [
            node for node, versions in zip(nodes, done, strict=True) if migration.version not in versions
        ]
        if not pending:
            continue
        for step in steps[migration.version]:
            targets = {
                "node": pending,
                "shard": [n for n in pending if n.shard_leader],
                "once": pending[:1],
            }[step.scope]
            if not targets:  # a once-per-shard step whose shards' first replicas have it already
                continue
            # the nodes at once (a replicated CREATE waits on ZooKeeper: one by one took 4x as long)
            with ThreadPoolExecutor(max_workers=len(targets)) as pool:
                list(pool.map(lambda node, sql=step.sql: _run(node.engine, sql), targets))
        for node in pending:
            _record(node.engine, migration)
        applied.append(migration)
    return applied


def cluster_nodes(settings: Settings, database: str | None = None) -> list[tuple[NativeEngine, bool]]:
    """An engine on every node of settings.clickhouse_cluster as the server we connect to lists them
    (system.clusters), shard by shard, each with whether it is its shard's first replica; the caller
    closes them."""
    first = NativeEngine(settings, database)
    try:
        rows = first.execute(
            "SELECT shard_num, replica_num, host_name, port FROM system.clusters "
            "WHERE cluster = %(cluster)s ORDER BY shard_num, replica_num",
            {"cluster": settings.clickhouse_cluster},
        )
    finally:
        first.close()
    if not rows:
        raise ValueError(f"the server knows no cluster {settings.clickhouse_cluster!r} (system.clusters)")
    update = {"clickhouse_alt_hosts": ""}
    return [
        (
            NativeEngine(
                settings.model_copy(update={**update, "clickhouse_host": host, "clickhouse_port": int(port)}),
                database,
            ),
            int(replica) == 1,
        )
        for _shard, replica, host, port in rows
    ]


def migrate_configured(
    settings: Settings, directory: Path = DEFAULT_DIR, database: str | None = None
) -> list[Migration]:
    """`fapiao db migrate`: the one server of the settings, or every node of their cluster."""
    engines = (
        cluster_nodes(settings, database)
        if settings.clickhouse_cluster
        else [(NativeEngine(settings, database), True)]
    )
    try:
        if not settings.clickhouse_cluster:
            return migrate(engines[0][0], directory)
        return migrate_cluster(
            [Node(engine, leader) for engine, leader in engines], settings.clickhouse_cluster, directory
        )
    finally:
        for engine, _leader in engines:
            engine.close()
