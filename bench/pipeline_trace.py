"""Where a run's unanswered checks are: stuck (still ahead of a consumer group's committed offset, so
a live worker should take them yet) or lost (a group committed past them without their output), and
at which stage: verify (checks.requested → checks.verified) or risk (checks.verified → checks.results).

A benchmark that stops on "no new result for N s" cannot tell the two apart from the results alone:
a stalled partition and a record committed past look the same from checks.results. This reads the
pipeline's topics back after the run (each unanswered check's record on checks.requested and, if it got
that far, on checks.verified), the end and committed offsets of every partition of every topic the
worker reads (the faust app's group, and the sink's group for checks.results / risk.alerts), and the
group's members with their assignment, so a report says which partitions held what.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment

from fapiao import topics
from fapiao.bus import partitions_of
from fapiao.kafka_auth import client_kwargs

if TYPE_CHECKING:
    from bench.harness import Stack

# the topics the worker's faust group reads, and those its sink's group reads
APP_TOPICS = (
    topics.INVOICES_ISSUED,
    topics.INVOICES_STATUS,
    topics.CHECKS_REQUESTED,
    topics.CHECKS_RECHECKS,
    topics.CHECKS_VERIFIED,
    topics.SELLERS_ACTIVITY,
)
SINK_TOPICS = (topics.CHECKS_RESULTS, topics.RISK_ALERTS)

STUCK_VERIFY = "stuck before verify (checks.requested ahead of the committed offset)"
LOST_VERIFY = "lost at verify (checks.requested committed past it, nothing on checks.verified)"
STUCK_RISK = "stuck before risk (checks.verified ahead of the committed offset)"
LOST_RISK = "lost at risk (checks.verified committed past it, no result)"

Where = tuple[int, int]  # (partition, offset)


def classify(
    requested: Mapping[bytes, Where],
    verified: Mapping[bytes, Where],
    committed_requested: Mapping[int, int | None],
    committed_verified: Mapping[int, int | None],
) -> dict[bytes, tuple[str, Where]]:
    """Each unanswered check (`requested`: its record on checks.requested) -> (class, the record that
    decides it: on checks.verified if it got there, else on checks.requested). A committed offset C
    means every record below C is done; None (nothing committed) counts as 0."""
    out: dict[bytes, tuple[str, Where]] = {}
    for check_id, (partition, offset) in requested.items():
        there = verified.get(check_id)
        if there is None:
            done = committed_requested.get(partition) or 0
            out[check_id] = (LOST_VERIFY if offset < done else STUCK_VERIFY, (partition, offset))
        else:
            done = committed_verified.get(there[0]) or 0
            out[check_id] = (LOST_RISK if there[1] < done else STUCK_RISK, there)
    return out


@dataclass
class Trace:
    """What `trace` found (`lines()` for a report)."""

    where: dict[bytes, tuple[str, Where]]
    offsets: dict[str, dict[int, tuple[int, int | None]]]  # topic base name -> partition -> (end, committed)
    members: list[tuple[str, dict[str, list[int]]]] = field(default_factory=list)  # (client, topic -> parts)
    group_state: str = ""

    def counts(self) -> Counter[str]:
        return Counter(kind for kind, _ in self.where.values())

    def lines(self) -> list[str]:
        out = []
        for kind, n in self.counts().most_common():
            spread = Counter(p for k, (p, _) in self.where.values() if k == kind)
            out.append(
                f"{n:,} {kind}; by partition " + ", ".join(f"p{p}: {c}" for p, c in sorted(spread.items()))
            )
        for base, parts in self.offsets.items():
            lagging = {p: (end, done) for p, (end, done) in parts.items() if (done or 0) < end}
            shown = ", ".join(f"p{p} {done}/{end}" for p, (end, done) in sorted(lagging.items()))
            total = sum(end for end, _ in parts.values())
            out.append(f"{base}: {total:,} records; committed/end where behind: {shown or 'none'}")
        out.append(f"group state {self.group_state or '?'}, {len(self.members)} member(s)")
        for client, assigned in self.members:
            mine = ", ".join(f"{t} {_spans(ps)}" for t, ps in sorted(assigned.items()) if ps)
            out.append(f"  {client}: {mine or 'nothing'}")
        return out


def _spans(parts: Iterable[int]) -> str:
    """[0, 1, 2, 5] -> '0-2,5'."""
    runs: list[list[int]] = []
    for p in sorted(parts):
        if runs and runs[-1][1] == p - 1:
            runs[-1][1] = p
        else:
            runs.append([p, p])
    return ",".join(f"{a}-{b}" if a != b else f"{a}" for a, b in runs)


def _field(value: bytes, marker: bytes = b'"check_id":"') -> bytes:
    start = value.find(marker)
    if start < 0:
        return b""
    start += len(marker)
    return value[start : value.find(b'"', start)]


async def _offsets(
    stack: Stack, admin: AIOKafkaAdminClient, group: str, specs: Iterable[topics.TopicSpec]
) -> dict[str, dict[int, tuple[int, int | None]]]:
    assert stack._offsets is not None
    names = {spec.name: stack.topic(spec.name) for spec in specs}
    tps = [
        TopicPartition(name, p) for name in names.values() for p in await partitions_of(stack.settings, name)
    ]
    ends = await stack._offsets.end_offsets(tps) if tps else {}
    committed = await admin.list_consumer_group_offsets(group, partitions=tps) if tps else {}
    out: dict[str, dict[int, tuple[int, int | None]]] = {}
    for base, name in names.items():
        out[base] = {
            tp.partition: (
                int(ends[tp]),
                committed[tp].offset if tp in committed and committed[tp].offset >= 0 else None,
            )
            for tp in tps
            if tp.topic == name
        }
    return out


async def _members(admin: AIOKafkaAdminClient, group: str, prefix: str) -> tuple[str, list]:
    members = []
    state = ""
    for response in await admin.describe_consumer_groups([group]):
        for described in response.to_object()["groups"]:
            state = described["state"]
            for member in described["members"]:
                assigned: dict[str, list[int]] = {}
                raw = member["member_assignment"]
                if raw:
                    for topic, parts in ConsumerProtocolMemberAssignment.decode(raw).assignment:
                        assigned[topic.removeprefix(prefix)] = list(parts)
                members.append((f"{member['client_id']} {member['client_host']}", assigned))
    return state, members


async def trace(stack: Stack, unanswered: Mapping[bytes, Where]) -> Trace:
    """Where each unanswered check (check id -> its record on checks.requested) is, with the offsets
    and the group's members at the end of the run."""
    verified = {
        _field(r.value): (r.partition, r.offset)
        for r in await stack.read_topic(stack.topic(topics.CHECKS_VERIFIED.name))
    }
    settings = stack.settings
    admin = AIOKafkaAdminClient(**client_kwargs(settings), request_timeout_ms=15000)
    await admin.start()
    try:
        offsets = await _offsets(stack, admin, settings.faust_app_id, APP_TOPICS)
        offsets |= await _offsets(stack, admin, settings.sink_group, SINK_TOPICS)
        state, members = await _members(admin, settings.faust_app_id, settings.topic_prefix)
    finally:
        await admin.close()
    committed = {base: {p: done for p, (_, done) in parts.items()} for base, parts in offsets.items()}
    where = classify(
        unanswered,
        {k: v for k, v in verified.items() if k in unanswered},
        committed[topics.CHECKS_REQUESTED.name],
        committed[topics.CHECKS_VERIFIED.name],
    )
    return Trace(where, offsets, members, state)
