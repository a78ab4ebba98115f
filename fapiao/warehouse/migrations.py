"""Numbered SQL migrations under deploy/clickhouse/, applied once each, in order.

A migration file holds statements separated by `;` at line ends. Each statement must itself be
idempotent (`IF NOT EXISTS`), so a migration interrupted half-way can simply be run again; a
single-column `ALTER TABLE … ADD COLUMN` is skipped when the column exists (18.16 lacks IF NOT EXISTS).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from fapiao.warehouse.engine import Engine

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


def migrate(engine: Engine, directory: Path = DEFAULT_DIR) -> list[Migration]:
    """Apply every migration not yet applied; returns those applied now."""
    done = applied_versions(engine)
    applied = []
    for migration in load(directory):
        if migration.version in done:
            continue
        for statement in migration.statements:
            # 18.16 has no ADD COLUMN IF NOT EXISTS: a re-run after an interruption skips added columns
            added = added_column(statement)
            if added is not None and _column_exists(engine, *added):
                continue
            engine.execute(statement)
        engine.insert("schema_migrations", ("version", "name"), [(migration.version, migration.name)])
        applied.append(migration)
    return applied
