"""Pseudonyms and name envelopes of an organisation's sellers and buyers, to resolve a name filter
(history, exports) without plaintext names in ClickHouse: the caller opens them and matches."""

from __future__ import annotations

from fapiao.analytics.filters import CheckFilters, TimeRange
from fapiao.analytics.reveal import NameIndex, pseudonymise_filters
from fapiao.crypto.protect import FieldSealer, Role
from fapiao.warehouse.engine import Engine

# sellers from their monthly rollup (few rows); buyers have no rollup: the range's result rows
_SQL: dict[Role, str] = {
    "seller": (
        "SELECT seller_ref, anyMerge(seller_sealed) FROM sellers_monthly WHERE org_id = %(org_id)s "
        "AND month >= toYYYYMM(toDate(%(d_start)s)) AND month <= toYYYYMM(toDate(%(d_end)s)) "
        "GROUP BY seller_ref"
    ),
    "buyer": (
        "SELECT buyer_ref, any(buyer_sealed) FROM check_results WHERE org_id = %(org_id)s "
        "AND requested_date >= toDate(%(d_start)s) AND requested_date <= toDate(%(d_end)s) "
        "AND buyer_sealed != '' GROUP BY buyer_ref"
    ),
}


def party_envelopes(engine: Engine, org_id: str, role: Role, span: TimeRange) -> list[tuple[str, str]]:
    """(pseudonym, any envelope) of each party of this role in the organisation's checks of `span`."""
    params = {"org_id": org_id, **span.params()}
    return [(str(ref), str(env)) for ref, env in engine.execute(_SQL[role], params)]


def sealed_filters(
    engine: Engine, org_id: str, filters: CheckFilters, span: TimeRange, sealer: FieldSealer
) -> CheckFilters:
    """`filters` on the sealed columns; a part of a name is looked up among the organisation's parties."""
    roles: tuple[Role, ...] = ("seller", "buyer")
    by_name = [
        r for r in roles if getattr(filters, r) is not None and not filters.is_tax_id(getattr(filters, r))
    ]
    names = (
        NameIndex.open(sealer, {r: party_envelopes(engine, org_id, r, span) for r in by_name})
        if by_name
        else None
    )
    return pseudonymise_filters(sealer, filters, names)
