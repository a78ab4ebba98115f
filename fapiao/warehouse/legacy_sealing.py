"""Sealing rows stored in plaintext: before migration 010, or while field encryption was off.

`fapiao db seal-plaintext` (run with the worker stopped): every distinct plaintext seller/buyer (tax id +
name), requester and alert seller gets its pseudonym and envelope (the same the worker would write;
ClickHouse never held addresses or bank accounts, so the envelopes carry none), written by mutations
(`ALTER TABLE … UPDATE`, mapping values with `transform`) that also empty the plaintext columns. The
seller/requester rollups are then rebuilt (their 010 statements), since those rows had no pseudonym
and were never counted there. Evidence values of old alerts are left as they are.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from fapiao.crypto.protect import FieldSealer, Role
from fapiao.warehouse import migrations
from fapiao.warehouse.engine import Engine

CHUNK = 500  # distinct values per mutation (the mapping arrays travel in the statement)
# what views derive from the sealed columns: migration -> tables dropped and rebuilt, or refilled
_REBUILT: dict[int, tuple[str, ...]] = {
    10: ("sellers_daily", "sellers_monthly", "requesters_daily"),
    13: ("check_party_rows",),
}
_SEP = "|"  # tax ids never contain it, so tax_id|name splits at its first one


@dataclass
class SealReport:
    parties: dict[str, int] = field(default_factory=dict)  # role -> distinct values sealed
    requesters: int = 0
    alert_sellers: int = 0
    mutations: int = 0
    rollups_rebuilt: bool = False


def _chunks(items: Sequence[str], size: int = CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _party_key(tax_id: str, name: str) -> str:
    return f"{tax_id}{_SEP}{name}"


def party_mutation(role: Role) -> str:
    key = f"concat({role}_tax_id, '{_SEP}', {role}_name)"
    return (
        f"ALTER TABLE check_results UPDATE {role}_ref = transform({key}, %(keys)s, %(refs)s, {role}_ref), "
        f"{role}_sealed = transform({key}, %(keys)s, %(envelopes)s, {role}_sealed), "
        f"{role}_tax_id = '', {role}_name = '' WHERE {role}_sealed = '' AND {key} IN %(key_set)s"
    )


REQUESTER_MUTATION = (
    "ALTER TABLE check_results UPDATE "
    "requester_ref = transform(requester, %(keys)s, %(refs)s, requester_ref), "
    "requester_sealed = transform(requester, %(keys)s, %(envelopes)s, requester_sealed), requester = '' "
    "WHERE requester_sealed = '' AND requester IN %(key_set)s"
)
ALERT_MUTATION = (
    "ALTER TABLE risk_alerts UPDATE seller_ref = transform(seller_tax_id, %(keys)s, %(refs)s, seller_ref), "
    "seller_sealed = transform(seller_tax_id, %(keys)s, %(envelopes)s, seller_sealed), seller_tax_id = '' "
    "WHERE seller_sealed = '' AND seller_tax_id IN %(key_set)s"
)


def _wait_for_mutations(engine: Engine, timeout: float = 3600) -> None:
    deadline = time.monotonic() + timeout
    while True:
        rows = engine.execute(
            "SELECT count() FROM system.mutations WHERE database = currentDatabase() AND is_done = 0 "
            "AND table IN ('check_results', 'risk_alerts')"
        )
        if not rows or int(rows[0][0]) == 0:
            return
        if time.monotonic() > deadline:
            raise TimeoutError("mutations still running: see system.mutations")
        time.sleep(0.2)


def _mutate(engine: Engine, sql: str, mapping: dict[str, tuple[str, str]]) -> int:
    """Run `sql` over `mapping` (value -> (pseudonym, envelope)) in chunks; returns mutations run."""
    keys = sorted(mapping)
    for chunk in _chunks(keys):
        engine.execute(
            sql,
            {
                "keys": list(chunk),
                "refs": [mapping[k][0] for k in chunk],
                "envelopes": [mapping[k][1] for k in chunk],
                "key_set": tuple(chunk),
            },
        )
        _wait_for_mutations(engine)
    return len(list(_chunks(keys)))


def seal_plaintext(
    engine: Engine, sealer: FieldSealer, *, on_step: Callable[[str], None] | None = None
) -> SealReport:
    """Seal every plaintext party, requester and alert seller; rebuild the seller/requester rollups."""
    report = SealReport()
    roles: tuple[Role, ...] = ("seller", "buyer")
    for role in roles:
        rows = engine.execute(
            f"SELECT DISTINCT {role}_tax_id, {role}_name FROM check_results "
            f"WHERE {role}_sealed = '' AND ({role}_tax_id != '' OR {role}_name != '')"
        )
        mapping = {}
        for tax_id, name in rows:
            fields = {
                "name": str(name),
                "tax_id": str(tax_id) or None,
                "address_phone": None,
                "bank_account": None,
            }
            mapping[_party_key(str(tax_id), str(name))] = (
                sealer.tax_ref(str(tax_id)),
                sealer.seal_fields(fields, role),
            )
        report.parties[role] = len(mapping)
        report.mutations += _mutate(engine, party_mutation(role), mapping)
        if on_step:
            on_step(f"{role}s: {len(mapping):,}")
    requesters = [str(r[0]) for r in engine.execute(
        "SELECT DISTINCT requester FROM check_results WHERE requester_sealed = '' AND requester != ''"
    )]  # fmt: skip
    mapping = {r: sealer.seal_requester(r) for r in requesters}
    report.requesters = len(mapping)
    report.mutations += _mutate(engine, REQUESTER_MUTATION, mapping)
    if on_step:
        on_step(f"requesters: {len(mapping):,}")
    sellers = [str(r[0]) for r in engine.execute(
        "SELECT DISTINCT seller_tax_id FROM risk_alerts WHERE seller_sealed = '' AND seller_tax_id != ''"
    )]  # fmt: skip
    mapping = {}
    for tax_id in sellers:
        fields = {"name": "", "tax_id": tax_id, "address_phone": None, "bank_account": None}
        mapping[tax_id] = (sealer.tax_ref(tax_id), sealer.seal_fields(fields, "seller"))
    report.alert_sellers = len(mapping)
    report.mutations += _mutate(engine, ALERT_MUTATION, mapping)
    if on_step:
        on_step(f"alert sellers: {len(mapping):,}")
    if report.parties.get("seller") or report.requesters:
        rebuild_rollups(engine)
        report.rollups_rebuilt = True
        if on_step:
            on_step("rollups rebuilt")
    return report


def rebuild_rollups(engine: Engine) -> None:
    """Refill what materialized views derive from the sealed columns, from check_results, with the
    migrations' own statements: sellers_daily, sellers_monthly, requesters_daily (010) are dropped and
    rebuilt (their sums would double otherwise), and so is check_party_rows (013), whose copies of the
    mutated rows still hold their plaintext. (012's seller_days is gone since 021.)"""
    by_version = {m.version: m for m in migrations.load()}
    for version, tables in _REBUILT.items():
        migration = by_version.get(version)
        if migration is None:
            continue
        for table in tables:
            engine.execute(f"DROP TABLE IF EXISTS {table}_mv")
            engine.execute(f"DROP TABLE IF EXISTS {table}")
        for statement in migration.statements:
            if migrations.added_column(statement) is not None or statement.upper().startswith("DROP"):
                continue
            if any(_names(statement, table) for table in tables):
                engine.execute(statement)


def _names(statement: str, table: str) -> bool:
    """Whether the statement creates or fills `table` (or a view over it, as bi_<table>)."""
    return re.search(rf"\b(bi_)?{table}(_mv)?\b", statement) is not None
