"""Opening what analytics read sealed from ClickHouse, for the organisation that owns it.

The warehouse holds sellers, buyers and requesters as HMAC-SM3 pseudonyms and SM4-GCM envelopes
(deploy/clickhouse/010_sealed_parties.sql). Queries group and filter by pseudonyms; the API (and the
report command), which hold the keys, open just the rows and labels they show: a history page, an
export, the top-N series of a trend, the riskiest sellers. Pure functions over a FieldSealer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from fapiao.analytics.catalog import Dimension
from fapiao.analytics.custom_reports import ReportTable
from fapiao.analytics.filters import CheckFilters
from fapiao.analytics.narrative import PeriodFacts, RiskySeller
from fapiao.analytics.series import Trend
from fapiao.crypto.protect import FieldSealer, Role

SEALED_COLUMNS = (
    "seller_ref",
    "seller_sealed",
    "buyer_ref",
    "buyer_sealed",
    "requester_ref",
    "requester_sealed",
)
NO_MATCH = "-"  # a pseudonym filter value no row has (a name that matched no seller)


def open_row(sealer: FieldSealer, row: dict[str, Any]) -> dict[str, Any]:
    """A result row (history, export, latest result) with its parties and requester in plaintext, and
    the sealed columns removed. Rows stored unsealed (before migration 010, or with field encryption
    off) keep their plaintext columns."""
    return _opened(row, sealer.open_party_fields, sealer.open_requester)


class RowOpener:
    """`open_row` over the many rows of one download: each distinct envelope is opened once. The worker
    seals each distinct party and requester once and reuses the envelope, so a batch's rows repeat a
    few hundred envelopes, and opening every row's (SM4 + JSON + HMAC check) was most of a results
    file's CPU (docs/benchmarks.md). At most `limit` envelopes are kept; then it starts afresh."""

    def __init__(self, sealer: FieldSealer, limit: int = 20_000) -> None:
        self.sealer = sealer
        self.limit = limit
        self.parties: dict[tuple[str, Role, str], dict[str, str | None]] = {}
        self.requesters: dict[tuple[str, str], str] = {}

    def party(self, envelope: str, role: Role, ref: str) -> dict[str, str | None]:
        key = (envelope, role, ref)
        fields = self.parties.get(key)
        if fields is None:
            if len(self.parties) >= self.limit:
                self.parties.clear()
            fields = self.parties[key] = self.sealer.open_party_fields(envelope, role, ref)
        return fields

    def requester(self, envelope: str, ref: str) -> str:
        key = (envelope, ref)
        requester = self.requesters.get(key)
        if requester is None:
            if len(self.requesters) >= self.limit:
                self.requesters.clear()
            requester = self.requesters[key] = self.sealer.open_requester(envelope, ref)
        return requester

    def __call__(self, row: dict[str, Any]) -> dict[str, Any]:
        return _opened(row, self.party, self.requester)


def _opened(
    row: dict[str, Any],
    open_party: Callable[[str, Role, str], dict[str, str | None]],
    open_requester: Callable[[str, str], str],
) -> dict[str, Any]:
    out = {k: v for k, v in row.items() if k not in SEALED_COLUMNS}
    roles: tuple[Role, ...] = ("seller", "buyer")
    for role in roles:
        envelope = str(row.get(f"{role}_sealed") or "")
        if envelope:
            fields = open_party(envelope, role, str(row.get(f"{role}_ref") or ""))
            out[f"{role}_tax_id"] = fields["tax_id"] or ""
            out[f"{role}_name"] = fields["name"] or ""
    if row.get("requester_sealed"):
        out["requester"] = open_requester(str(row["requester_sealed"]), str(row.get("requester_ref") or ""))
    return out


def open_report(sealer: FieldSealer, table: ReportTable) -> ReportTable:
    """A custom report's seller/buyer columns (pseudonym, envelope) as tax id and name, and its
    requester column as the requester (its envelope column dropped)."""
    index = {name: i for i, name in enumerate(table.columns)}
    roles: tuple[Role, ...] = ("seller", "buyer")
    rows = [list(row) for row in table.rows]
    for role in roles:
        ref_at, name_at = index.get(f"{role}_tax_id"), index.get(f"{role}_name")
        if ref_at is None or name_at is None:
            continue
        for row in rows:
            if row[name_at]:
                fields = sealer.open_party_fields(str(row[name_at]), role, str(row[ref_at]))
                row[ref_at], row[name_at] = fields["tax_id"] or "", fields["name"] or ""
    ref_at, sealed_at = index.get("requester"), index.get("requester_sealed")
    if ref_at is None or sealed_at is None:
        return ReportTable(table.columns, rows)
    for row in rows:
        if row[sealed_at]:
            row[ref_at] = sealer.open_requester(str(row[sealed_at]), str(row[ref_at]))
        del row[sealed_at]
    return ReportTable([c for c in table.columns if c != "requester_sealed"], rows)


def open_trend(sealer: FieldSealer, trend: Trend) -> Trend:
    """Seller and requester series labelled with their names (their keys stay pseudonyms)."""
    dimension = trend.query.dimension
    if dimension not in (Dimension.SELLER, Dimension.REQUESTER):
        return trend
    for series in trend.series:
        envelope = series.label_zh
        if envelope == series.key or not envelope:
            continue  # no envelope: the label is the key itself
        if dimension is Dimension.SELLER:
            name = sealer.party_name(envelope, "seller", series.key)
        else:
            name = sealer.open_requester(envelope, series.key)
        series.label_zh = series.label_en = name or series.key
    return trend


def open_sellers(sealer: FieldSealer, sellers: list[RiskySeller]) -> list[RiskySeller]:
    """Riskiest sellers with their tax ids and names instead of pseudonyms and envelopes."""
    opened = []
    for seller in sellers:
        if seller.name and seller.name != seller.tax_id:
            fields = sealer.open_party_fields(seller.name, "seller", seller.tax_id)
            seller = replace(seller, tax_id=fields["tax_id"] or "", name=fields["name"] or "")
        opened.append(seller)
    return opened


def open_facts(sealer: FieldSealer, facts: PeriodFacts) -> PeriodFacts:
    return replace(facts, risky_sellers=open_sellers(sealer, facts.risky_sellers))


def pseudonymise_filters(
    sealer: FieldSealer, filters: CheckFilters, names: NameIndex | None = None
) -> CheckFilters:
    """Filters on sealed columns: a seller/buyer tax id and a requester add their pseudonyms; a part of
    a seller's or buyer's name adds the pseudonyms of the matching parties (from `names`). The plaintext
    values stay (same fingerprint, so cursors of a page still fit the next) but no longer shape SQL."""
    update: dict[str, Any] = {}
    if filters.requester is not None:
        update["requester_ref"] = sealer.requester_ref(filters.requester)
    for role in ("seller", "buyer"):
        value = getattr(filters, role)
        if value is None:
            continue
        if filters.is_tax_id(value):
            refs: tuple[str, ...] = (sealer.tax_ref(value),)
        else:
            refs = tuple(sorted((names or NameIndex()).matching(role, value))) or (NO_MATCH,)
        update[f"{role}_refs"] = refs
    return replace(filters, **update) if update else filters


class NameIndex:
    """Names of an organisation's parties (pseudonym -> opened name), to resolve a name filter."""

    def __init__(self, names: dict[str, dict[str, str]] | None = None) -> None:
        self._names = names or {}

    @classmethod
    def open(cls, sealer: FieldSealer, rows: dict[Role, list[tuple[str, str]]]) -> NameIndex:
        """From (pseudonym, envelope) rows per role."""
        return cls(
            {
                role: {ref: sealer.party_name(env, role, ref) for ref, env in pairs if env}
                for role, pairs in rows.items()
            }
        )

    def matching(self, role: str, part: str) -> set[str]:
        wanted = part.casefold()
        return {ref for ref, name in self._names.get(role, {}).items() if wanted in name.casefold()}
