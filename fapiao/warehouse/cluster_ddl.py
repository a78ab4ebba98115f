"""The migrations' statements rewritten for a sharded, replicated ClickHouse cluster.

The migration files are written for one server (and run as they are there and on chdb). On a cluster
(settings.clickhouse_cluster, e.g. `fapiao`: shards of replicas, coordinated by ZooKeeper) every
`*MergeTree` table becomes two: `<name>_local`, a `Replicated*MergeTree` on every node (its replicas
share the ZooKeeper path of their shard), and `<name>`, a `Distributed` table over the locals. The
application keeps using `<name>`: inserts through it are split by the sharding key (synchronously,
`insert_distributed_sync=1` in the nodes' profile, so the sink's acknowledgement still means "stored"),
and reads through it gather every shard.

The sharding key keeps rows with the same sorting key on one shard, so ReplacingMergeTree's collapse
and `FINAL` stay exact through the Distributed table: it is `check_id` when the sorting key has it (every
result version, lookup row and party row of one check on one shard, so joins by check id stay within a
shard), else a hash of the whole sorting key. Materialized views go on the local tables (each shard
aggregates its own rows; a check's rows are on one shard, so the rollups' sets are disjoint across shards
and merge exactly when read through the Distributed rollup); their back-fills (`INSERT … SELECT`) run
once per shard on its local tables (the replicas get the rows by replication), `ALTER … ADD COLUMN`
once per shard on the local table (replicated) and on every node's Distributed table.

Pure: `plan()` turns the loaded migrations into steps; fapiao.warehouse.migrations runs them per node.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Scope = Literal["node", "shard", "once"]
LOCAL_SUFFIX = "_local"

_CREATE_MERGE_TREE = re.compile(
    r"^CREATE\s+TABLE\s+IF\s+NOT\s+EXISTS\s+(\w+)\s*(\(.*\))\s*ENGINE\s*=\s*(\w*MergeTree)\s*\(",
    re.IGNORECASE | re.DOTALL,
)
_MATERIALIZED_VIEW = re.compile(r"^CREATE\s+MATERIALIZED\s+VIEW\b", re.IGNORECASE)
_INSERT = re.compile(r"^INSERT\s+INTO\s+(\w+)", re.IGNORECASE)
_ALTER = re.compile(r"^ALTER\s+TABLE\s+(\w+)(\s.*)$", re.IGNORECASE | re.DOTALL)
_DROP = re.compile(r"^DROP\s+TABLE\s+IF\s+EXISTS\s+(\w+)\s*$", re.IGNORECASE)
_ORDER_BY = re.compile(r"\bORDER\s+BY\s+(\([^)]*\)|\w+)", re.IGNORECASE)


@dataclass(frozen=True)
class Step:
    """One statement and where it runs: on every node, on one replica of every shard, or once."""

    scope: Scope
    sql: str


def _closing_paren(text: str, start: int) -> int:
    """Index of the `)` that closes the `(` at `start`."""
    depth = 0
    for i in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth == 0:
            return i
    raise ValueError(f"unbalanced parentheses in: {text[:80]}…")


def sharding_key(order_by: str) -> str:
    """The Distributed table's sharding key for a table sorted by `order_by` (see the module doc)."""
    columns = [c.strip() for c in order_by.strip().strip("()").split(",") if c.strip()]
    if "check_id" in columns:
        return "cityHash64(toString(check_id))"
    # as text: 18.16's cityHash64 takes no UUID (risk_alerts' alert_id, report_definitions' report_id)
    return f"cityHash64({', '.join(f'toString({c})' for c in columns)})"


def _rename_tables(sql: str, sharded: set[str]) -> str:
    """`FROM t`, `JOIN t`, `TO t`, `INSERT INTO t` of a sharded table `t` -> `t_local`."""

    def local(match: re.Match[str]) -> str:
        name = match.group(2)
        return f"{match.group(1)}{name}{LOCAL_SUFFIX}" if name in sharded else match.group(0)

    return re.sub(r"(\b(?:FROM|JOIN|TO|INTO)\s+)(\w+)\b", local, sql, flags=re.IGNORECASE)


def _merge_tree(statement: str, match: re.Match[str], cluster: str, database: str) -> tuple[Step, Step]:
    name, columns, engine = match.group(1), match.group(2), match.group(3)
    args_open = match.end() - 1
    args_close = _closing_paren(statement, args_open)
    args = statement[args_open + 1 : args_close].strip()
    rest = statement[args_close + 1 :]
    order = _ORDER_BY.search(rest)
    if order is None:
        raise ValueError(f"table {name} has no ORDER BY: cannot choose its sharding key")
    local = name + LOCAL_SUFFIX
    replication = f"'/clickhouse/tables/{{shard}}/{database}/{local}', '{{replica}}'"
    engine_args = f"{replication}, {args}" if args else replication
    create_local = (
        f"CREATE TABLE IF NOT EXISTS {local}\n{columns}\nENGINE = Replicated{engine}({engine_args}){rest}"
    )
    create_distributed = (
        f"CREATE TABLE IF NOT EXISTS {name} AS {local}\n"
        f"ENGINE = Distributed({cluster}, {database}, {local}, {sharding_key(order.group(1))})"
    )
    return Step("node", create_local), Step("node", create_distributed)


def rewrite(statement: str, cluster: str, database: str, sharded: set[str]) -> list[Step]:
    """The steps of one migration statement on the cluster. `sharded` holds the tables made into
    local + Distributed pairs so far; updated in place (created, dropped)."""
    text = statement.strip()
    if match := _CREATE_MERGE_TREE.match(text):
        sharded.add(match.group(1))
        return list(_merge_tree(text, match, cluster, database))
    if _MATERIALIZED_VIEW.match(text):
        return [Step("node", _rename_tables(text, sharded))]
    if match := _INSERT.match(text):
        if match.group(1) in sharded and re.search(r"\bSELECT\b", text, re.IGNORECASE):
            return [Step("shard", _rename_tables(text, sharded))]
        return [Step("once", text)]
    if (match := _ALTER.match(text)) and match.group(1) in sharded:
        name, tail = match.group(1), match.group(2)
        return [Step("shard", f"ALTER TABLE {name}{LOCAL_SUFFIX}{tail}"), Step("node", text)]
    if (match := _DROP.match(text)) and match.group(1) in sharded:
        sharded.discard(match.group(1))
        return [Step("node", text), Step("node", f"DROP TABLE IF EXISTS {match.group(1)}{LOCAL_SUFFIX}")]
    return [Step("node", text)]


def plan(
    statements_by_version: list[tuple[int, tuple[str, ...]]], cluster: str, database: str
) -> dict[int, list[Step]]:
    """Every migration's steps, in order. All migrations are rewritten (applied or not), so the set of
    sharded tables a later migration sees is the same on a fresh cluster and on an up-to-date one."""
    if not re.fullmatch(r"\w+", cluster) or not re.fullmatch(r"\w+", database):
        raise ValueError(f"cluster and database must be plain identifiers: {cluster!r}, {database!r}")
    sharded: set[str] = set()
    return {
        version: [step for statement in statements for step in rewrite(statement, cluster, database, sharded)]
        for version, statements in statements_by_version
    }
