"""One small interface over the two ClickHouse engines we run SQL on.

`NativeEngine` is a real server through clickhouse-driver (18.16 here, current in production);
`ChdbEngine` is current ClickHouse in-process (tests). Parameters are `%(name)s` placeholders bound
by clickhouse-driver's own escaping in both, so a query text is the same everywhere.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from clickhouse_driver import Client
from clickhouse_driver.util.escape import escape_param

from fapiao.settings import Settings


class Engine(Protocol):
    database: str

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]: ...

    def insert(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int: ...


class NativeEngine:
    """A ClickHouse server over the native protocol (port 9000)."""

    def __init__(self, settings: Settings, database: str | None = None) -> None:
        self.database = database or settings.clickhouse_database
        self._client_args: dict[str, Any] = {
            "host": settings.clickhouse_host,
            "port": settings.clickhouse_port,
            "user": settings.clickhouse_user,
            "password": settings.clickhouse_password.get_secret_value(),
            "connect_timeout": 5,
            "send_receive_timeout": 60,
        }
        if settings.clickhouse_alt_hosts:
            self._client_args["alt_hosts"] = settings.clickhouse_alt_hosts
        if settings.clickhouse_cluster:
            # an insert into a Distributed table returns once every shard stored its rows; IN/JOIN
            # over two Distributed tables run GLOBAL; and no insert deduplication (also in the nodes'
            # profiles: deploy/local/cluster.sh). Replicated tables drop a block identical to one already
            # stored, and 18.16 then skips the materialized views too: a retried insert after a replica
            # died between the table's part and its views' parts left the rollups without those rows
            # (the cluster failure test saw 2 of 848 checks missing). Without it a retry writes every
            # row again, as on one server; the tables collapse them and the rollups' sets are exact.
            self._client_args["settings"] = {
                "insert_distributed_sync": 1,
                "distributed_product_mode": "global",
                "insert_deduplicate": 0,
            }
        self._client = Client(database="default", **self._client_args)
        self._bound = False

    def _ensure_database(self) -> Client:
        if not self._bound:
            self._client.execute(f"CREATE DATABASE IF NOT EXISTS {quote_identifier(self.database)}")
            self._client.disconnect()
            self._client = Client(database=self.database, **self._client_args)
            self._bound = True
        return self._client

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        return list(self._ensure_database().execute(sql, dict(params) if params else None))

    def insert(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        sql = f"INSERT INTO {quote_identifier(table)} ({', '.join(columns)}) VALUES"
        return int(self._ensure_database().execute(sql, list(rows)))

    def ping(self) -> bool:
        return bool(self._client.execute("SELECT 1"))

    def close(self) -> None:
        # After its server died mid-query, clickhouse-driver 0.2.11 can hold a connection marked open
        # whose socket is None: tearing it down raises AttributeError. Closing must still succeed, so
        # the caller (the sink, the API) drops this engine and reconnects, to another node on a cluster.
        with contextlib.suppress(AttributeError, OSError):
            self._client.disconnect()


class ChdbEngine:
    """Current ClickHouse in-process (chdb), for proving DDL and queries on a modern version."""

    def __init__(self, database: str = "fapiao") -> None:
        from chdb import session

        self.database = database
        self._session = session.Session()
        self._session.query(f"CREATE DATABASE IF NOT EXISTS {quote_identifier(database)}")
        self._session.query(f"USE {quote_identifier(database)}")

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        text = render(sql, params) if params else sql
        is_select = text.lstrip().upper().startswith(("SELECT", "WITH", "SHOW", "DESCRIBE", "EXISTS"))
        if not is_select:
            self._session.query(text)
            return []
        out = self._session.query(text, "JSONCompact")
        body = out.bytes() if hasattr(out, "bytes") else bytes(out)
        if not body:
            return []
        return [tuple(row) for row in json.loads(body)["data"]]

    def insert(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        values = [list(r) for r in rows]
        if not values:
            return 0
        rendered = ", ".join(_literal(tuple(v)) for v in values)
        self._session.query(f"INSERT INTO {quote_identifier(table)} ({', '.join(columns)}) VALUES {rendered}")
        return len(values)

    def close(self) -> None:
        self._session.close()


class _UtcContext:
    """What clickhouse-driver's escaper needs to know of the server: its time zone."""

    class server_info:
        @staticmethod
        def get_timezone() -> str:
            return "UTC"


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, tuple | list):
        inner = ", ".join(_literal(v) for v in value)
        return f"({inner})" if isinstance(value, tuple) else f"[{inner}]"
    return str(escape_param(value, _UtcContext))


def render(sql: str, params: Mapping[str, Any]) -> str:
    """Bind `%(name)s` placeholders client-side, with clickhouse-driver's escaping rules."""
    return sql % {k: _literal(v) for k, v in params.items()}


def quote_identifier(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"not a safe identifier: {name!r}")
    return f"`{name}`"
