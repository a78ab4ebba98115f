"""Hypothesis strategies from the events' JSON schemas (the subset pydantic emits for `schemas/`):
extremes are favoured — the bounds themselves, the oldest and newest dates and times, the longest
strings — since those are what a producer's bug sends and what a store cannot hold."""

from __future__ import annotations

import string
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

# the schemas bound dates and times to a plausible window (2000-2099) that their JSON schema does not
# show: mostly values inside it, its edges often, and now and then the ones a store cannot hold
_DATES = st.one_of(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
    st.sampled_from([date(2000, 1, 1), date(2099, 12, 31), date(2026, 12, 31), date(2027, 1, 1)]),
    st.sampled_from(
        [date(1, 1, 1), date(1969, 12, 31), date(1970, 1, 1), date(2106, 2, 7), date(9999, 12, 31)]
    ),
)
_OFFSETS = st.sampled_from(
    [UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-12)), timezone(timedelta(hours=14))]
)


def _datetime_text(draw_date: date, offset: timezone) -> str:
    return datetime(draw_date.year, draw_date.month, draw_date.day, 23, 59, 59, tzinfo=offset).isoformat()


def _string(node: dict[str, Any]) -> st.SearchStrategy[str]:
    fmt = node.get("format")
    if fmt == "uuid":
        return st.uuids().map(str)
    if fmt == "date":
        return _DATES.map(date.isoformat)
    if fmt == "date-time":
        return st.builds(_datetime_text, _DATES, _OFFSETS)
    low, high = node.get("minLength", 0), node.get("maxLength", 300)
    if "pattern" in node:
        return st.from_regex(node["pattern"], fullmatch=True).filter(lambda s: low <= len(s) <= high)
    alphabet = st.sampled_from(string.printable + "发票查验北京市海淀区=+-@\u0000\u202e")
    return st.one_of(st.text(alphabet, min_size=low, max_size=high), st.just("x" * high))


def _number(node: dict[str, Any], integer: bool) -> st.SearchStrategy[Any]:
    low, high = node.get("minimum"), node.get("maximum")
    if integer:
        edges = [v for v in (low, high, 0, 1, -1, 2**31, 2**32, 2**63) if v is not None]
        return st.one_of(st.sampled_from(edges), st.integers(min_value=low, max_value=high))
    return st.one_of(
        st.sampled_from(["0", "0.01", "-0.01", "99999999999999.99", "-99999999999999.99", "1e3"]),
        st.decimals(min_value=low, max_value=high, places=2, allow_nan=False, allow_infinity=False).map(str),
    )


def from_schema(node: dict[str, Any], defs: dict[str, Any] | None = None) -> st.SearchStrategy[Any]:
    """Values of the JSON schema `node` (objects, strings, numbers, enums, anyOf, arrays, $ref)."""
    defs = node.get("$defs", defs or {})
    if "$ref" in node:
        return st.deferred(lambda: from_schema(defs[node["$ref"].split("/")[-1]], defs))
    if "const" in node:
        return st.just(node["const"])
    if "enum" in node:
        return st.sampled_from(node["enum"])
    if "anyOf" in node:
        return st.one_of(*(from_schema(n, defs) for n in node["anyOf"]))
    kind = node.get("type")
    if kind == "object":
        props = node.get("properties", {})
        required = set(node.get("required", ()))
        optional = {k: v for k, v in props.items() if k not in required}
        return (
            st.fixed_dictionaries(
                {k: from_schema(props[k], defs) for k in required},
                optional={k: from_schema(v, defs) for k, v in optional.items()},
            )
            if props
            else st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=3)
        )
    if kind == "array":
        return st.lists(
            from_schema(node.get("items", {}), defs),
            min_size=node.get("minItems", 0),
            max_size=min(node.get("maxItems", 5), 5),
        )
    if kind == "string":
        return _string(node)
    if kind in ("integer", "number"):
        return _number(node, kind == "integer")
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    return st.one_of(st.none(), st.text(max_size=5), st.integers(), st.just(Decimal("1.00")).map(str))
