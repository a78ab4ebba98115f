"""chaos's `failover` phase: two workers in one group on a backlog, killed -9 in turn and restarted.

The issue-13 targets, measured: "failover with 2 workers: checks of the dead worker's partitions
answered again ≤ 15 s after kill -9" and "0 lost and 0 double-counted checks over 10 kill -9 cycles".

Two workers (own data dirs; static membership with an id each, as `make run FAPIAO_WORKERS=2` starts
them, or dynamic) work through a backlog that a feed keeps at about `backlog` checks outstanding
(requested, not yet answered), so every kill lands mid-backlog. Each cycle waits until the group is
stable with both workers assigned, reads which partitions of checks.requested the victim owns (from the
group coordinator), checks that every partition decides checks (the coordinator lists a worker wedged
in a revoke as assigned), kills it -9 (the two alternate), and probes every partition (bench/probes.py) until
each answered a check sent after the kill: failover = until the victim's partitions all did. Then (or at
once, `restart_at_once`) the victim is restarted on its data dir: restart → "Worker ready" and →
rejoined (both assigned again). At the end: requested = stored + dead letters + lost; double-counted
(extra rows through FINAL, 第N次 not 1..n); and for every lost check where it stopped — the furthest
topic it reached against the committed and end offsets there (bench/check_fates.py), with each group's
committed vs end offsets per partition.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from bench import data, probes
from bench.chaos import dead_letters, kill9, stored_counts
from bench.check_fates import Cycle, Outcome, Seen, Stage, fates, recounted, verdict, where_stopped
from bench.harness import GroupState, Proc, ResultsTail, Stack
from bench.probes import Prober
from bench.report import console
from bench.stats import Result, percentiles, secs
from fapiao.settings import Settings

FAILOVER_TARGET = 15.0  # seconds (issue 13)
ISSUE_CYCLES = 10  # "0 lost and 0 double-counted checks over 10 kill -9 cycles"
PROBE_LIMIT = 120.0  # a partition not answering within this after a kill: that cycle failed over "never"
SERVING_LIMIT = 60.0  # before a kill: every partition decides a check within this, or the cycle says so
STABLE_LIMIT = 120.0  # faust's rebalance timeout is 60 s: a member that hangs is out by then
READY_LIMIT = 300.0
QUIET_SECONDS = 30.0  # the end: no new answer for this long
PROBE_FIRST = 1_000_000  # invoice indexes of the probes' own invoices (registered with the backlog's)
PROBES_PER_PARTITION = 200
NAMES = ("worker-a", "worker-b")


@dataclass
class Sizes:
    checks: int = 40_000  # at most this many backlog checks in all (over invoices checks // 2)
    backlog: int = 1_000  # outstanding checks the feed keeps
    rate: float = 100.0  # checks/s the feed adds at most (after the first backlog)
    cycles: int = 10
    settle: float = 3.0  # seconds of work after a restart before the next kill
    static: bool = True
    restart_at_once: bool = False  # restart right after the kill (a supervisor) instead of after failover


class Feed:
    """Tops the backlog up to `backlog` outstanding checks from a pre-built list, at most `rate` per
    second after the first `backlog` (so the run lasts and leaves the shared machine some room)."""

    def __init__(
        self,
        stack: Stack,
        tail: ResultsTail,
        prober: Prober,
        messages: list[tuple[bytes, bytes]],
        sizes: Sizes,
    ) -> None:
        self.stack, self.tail, self.prober, self.messages = stack, tail, prober, messages
        self.backlog, self.rate = sizes.backlog, sizes.rate
        self.produced = 0
        self.on = True
        self.started = time.monotonic()

    @property
    def outstanding(self) -> int:
        return self.produced + len(self.prober.ids) - len(self.tail.ids)

    async def top_up(self) -> None:
        if not self.on or self.produced >= len(self.messages) or self.outstanding > self.backlog // 2:
            return
        allowed = self.backlog + int(self.rate * (time.monotonic() - self.started)) - self.produced
        take = self.messages[
            self.produced : self.produced + min(allowed, self.backlog - max(0, self.outstanding))
        ]
        if take:
            await self.stack.produce(self.stack.topic("checks.requested"), take)
            self.produced += len(take)


class Workers:
    def __init__(self, stack: Stack, static: bool) -> None:
        self.stack, self.static = stack, static
        self.procs: dict[str, Proc] = {}

    def start(self, name: str) -> Proc:
        env = {"FAPIAO_DATA_DIR": str(self.stack.tmp / name)}
        if self.static:
            env["FAPIAO_WORKER_INSTANCE_ID"] = f"killbench-{name}"
        self.procs[name] = proc = self.stack.spawn(name, ["worker"], env)
        return proc

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name)
        kill9(proc)
        self.stack.procs.remove(proc)

    async def stable(self, limit: float) -> tuple[GroupState | None, str]:
        """The group once both workers are members of a stable generation, each with partitions of
        checks.requested; else (None, what the group looked like last) after `limit` seconds."""
        group, topic = self.stack.settings.faust_app_id, self.stack.topic("checks.requested")
        deadline = time.monotonic() + limit
        last = "not described"
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.popen.poll() is not None:
                    raise RuntimeError(f"{name} exited ({proc.popen.returncode}):\n{proc.log_text()[-3000:]}")
            ids = {name: p.member_id(group) for name, p in self.procs.items()}
            with contextlib.suppress(Exception):  # a coordinator moving: ask again
                state = await self.stack.group_members(group)
                if (
                    len(ids) == len(NAMES)
                    and state.state == "Stable"
                    and set(state.members) == set(ids.values())
                    and all(state.owned(m, topic) for m in ids.values() if m)
                ):
                    return state, ""
                last = _membership(state, ids, topic)
            await asyncio.sleep(0.5)
        return None, last


def _membership(state: GroupState, ids: dict[str, str | None], topic: str) -> str:
    """The group as the coordinator sees it, by worker: what each owns of `topic`, or that it is out."""
    parts = []
    for name, member in ids.items():
        if member in state.members:
            parts.append(f"{name} assigned {sorted(state.owned(member, topic))}")
        else:
            parts.append(f"{name} not a member")
    return f"group {state.state}; " + ", ".join(parts)


async def _follow(tail: ResultsTail, feed: Feed, stop: asyncio.Event) -> None:
    """Takes in results (the only reader of the tail) and keeps the backlog topped up."""
    while not stop.is_set():
        await tail.poll(timeout_ms=100)
        await feed.top_up()


async def _until_ready(proc: Proc, limit: float) -> float | None:
    deadline = proc.started + limit
    while time.monotonic() < deadline:
        if proc.log_has("Worker ready"):
            return time.monotonic() - proc.started
        if proc.popen.poll() is not None:
            return None
        await asyncio.sleep(0.1)
    return None


async def _cycle(
    k: int, sizes: Sizes, stack: Stack, workers: Workers, prober: Prober, feed: Feed, tail: ResultsTail
) -> Cycle:
    name = NAMES[k % len(NAMES)]
    state, unstable = await workers.stable(STABLE_LIMIT)
    member = workers.procs[name].member_id(stack.settings.faust_app_id) or ""
    owned = tuple(sorted(state.owned(member, stack.topic("checks.requested")))) if state else ()
    cycle = Cycle(name, owned, feed.outstanding)
    if state is None:  # kill it anyway (it may be the one that hangs): a cycle that failed over never
        cycle.note = f"not both workers assigned {STABLE_LIMIT:.0f} s before the kill ({unstable})"
    else:  # the coordinator's view is not proof of consuming (a worker wedged in a revoke stays listed)
        idle = await _deciding(stack, prober, tail, SERVING_LIMIT)
        if idle:
            cycle.note = f"partitions {idle} decided nothing in {SERVING_LIMIT:.0f} s before the kill"
    cycle.outstanding = feed.outstanding
    survivor = next(p for n, p in workers.procs.items() if n != name)
    workers.kill(name)
    killed, killed_wall = time.monotonic(), time.time()
    cycle.killed_at = killed_wall
    ready: dict[str, float | None] = {}
    restarted: Proc | None = workers.start(name) if sizes.restart_at_once else None

    resumed: dict[int, float] = {}  # owned partition -> kill → a result of it decided after the kill

    async def poll() -> None:  # while probing: see readiness and resumed partitions as they come
        await asyncio.sleep(0.1)
        if restarted is not None and "at" not in ready and restarted.log_has("Worker ready"):
            ready["at"] = time.monotonic() - restarted.started
        for p in owned:
            if p not in resumed and tail.decided.get(p, 0.0) > killed_wall:
                resumed[p] = time.monotonic() - killed

    prober.poll = poll
    run = await prober.until_answered(range(stack.settings.topic_partitions), since=killed, limit=PROBE_LIMIT)
    cycle.failover, cycle.all_partitions = (
        run.seconds(owned),
        run.seconds(range(stack.settings.topic_partitions)),
    )
    if owned and all(p in resumed for p in owned):
        cycle.resumed = max(resumed[p] for p in owned)
    if restarted is None:
        restarted = workers.start(name)
    cycle.ready = ready.get("at") or await _until_ready(restarted, READY_LIMIT)
    state, unstable = await workers.stable(STABLE_LIMIT)
    # from the survivor's log timestamps, read now that those lines are surely written
    cycle.survivor_joined, cycle.survivor_ready = _survivor_split(
        survivor, stack.settings.faust_app_id, killed_wall
    )
    if state is not None:
        cycle.rejoined = time.monotonic() - restarted.started
    else:
        cycle.note += f"{'; ' if cycle.note else ''}not rejoined within {STABLE_LIMIT:.0f} s ({unstable})"
    slow = [p for p in owned if p not in run.answered]
    console.print(
        f"  kill -9 {k + 1}/{sizes.cycles} {name} "
        f"(partitions {list(owned)}, {cycle.outstanding} outstanding): "
        f"failover {secs(cycle.failover)} (all partitions {secs(cycle.all_partitions)}; the survivor "
        f"rejoined +{secs(cycle.survivor_joined)}, resumed +{secs(cycle.survivor_ready)}; "
        f"its partitions deciding again +{secs(cycle.resumed)})"
        + (f", never answered: {slow}" if slow else "")
        + f"; restart → ready {secs(cycle.ready)}, → rejoined {secs(cycle.rejoined)}"
        + (f" [red]{cycle.note}[/red]" if cycle.note else "")
    )
    await asyncio.sleep(sizes.settle)
    return cycle


async def _deciding(stack: Stack, prober: Prober, tail: ResultsTail, limit: float) -> list[int]:
    """Until every partition has decided a check after now (one probe each, in case there is no
    traffic; not waited for, so the backlog ahead is not drained first); the partitions that did not
    within `limit` seconds."""
    every = range(stack.settings.topic_partitions)
    start, deadline = time.time(), time.monotonic() + limit
    await prober.send_round(every)
    while time.monotonic() < deadline:
        idle = [p for p in every if tail.decided.get(p, 0.0) <= start]
        if not idle:
            return []
        await asyncio.sleep(0.1)
    return [p for p in every if tail.decided.get(p, 0.0) <= start]


def _survivor_split(proc: Proc, group: str, since: float) -> tuple[float | None, float | None]:
    """Seconds from `since` (the kill, epoch) until the survivor joined the group's next generation,
    and until faust resumed its streams after that ("Resuming flow...": the active tables recovered),
    from its log's timestamps: where a failover's time goes — the dead member's session running out
    and the rebalance, the tables' recovery, then what was ahead of the probes."""
    joined = next((t for t in proc.log_times(f"Joined group '{group}'") if t > since), None)
    if joined is None:
        return None, None
    resumed = next((t for t in proc.log_times("Resuming flow") if t >= joined), None)
    return joined - since, None if resumed is None else resumed - since


MEMBERSHIP_ERRORS = ("UnknownMemberId", "IllegalGeneration", "FencedInstanceId", "session expired")


def joined_generations(logs: Iterable[str], group: str) -> dict[int, float]:
    """Every generation of `group` any of these worker logs joined (aiokafka's "Joined group" line), with
    when it was first joined (epoch seconds, from the logging prefix: local time, as `Proc.log_times`)."""
    pattern = re.compile(rf"^\[([0-9-]+ [0-9:,]+)\].*Joined group '{re.escape(group)}' \(generation (\d+)\)")
    out: dict[int, float] = {}
    for text in logs:
        for line in text.splitlines():
            found = pattern.match(line)
            if found:
                when = datetime.strptime(found[1], "%Y-%m-%d %H:%M:%S,%f").timestamp()
                generation = int(found[2])
                out[generation] = min(when, out.get(generation, when))
    return out


def spurious_generations(joined: dict[int, float], first_kill: float, cycles: int) -> int:
    """Generations joined after the first kill (epoch s) that no kill or restart made: each cycle makes
    exactly two, the survivor alone once the dead member's session ran out, both again when the victim,
    restarted after the failover, joins (the start-up's own rebalances come before the first kill).
    More means a live member was taken for dead (its heartbeats late past the session timeout) or left
    on its own."""
    return max(0, sum(1 for when in joined.values() if when > first_kill) - 2 * cycles)


def membership_errors(logs: Iterable[str]) -> int:
    """Log lines of a live member losing its membership (expired session, fenced, stale generation)."""
    return sum(1 for text in logs for line in text.splitlines() if any(e in line for e in MEMBERSHIP_ERRORS))


def last_copies(records: list, marker: bytes = b'"check_id":"') -> dict[str, Seen]:
    """check id -> its last copy on the topic (partition, offset)."""
    out: dict[str, Seen] = {}
    for r in records:
        value: bytes = r.value
        start = value.find(marker)
        if start >= 0:
            start += len(marker)
            cid = value[start : value.find(b'"', start)].decode()
            last = out.get(cid)
            if last is None or (r.partition, r.offset) > (last.partition, last.offset):
                out[cid] = Seen(r.partition, r.offset)
    return out


async def stage_offsets(
    stack: Stack, stages: list[Stage]
) -> tuple[dict[tuple[str, int], int], dict[tuple[str, int], int]]:
    committed: dict[tuple[str, int], int] = {}
    ends: dict[tuple[str, int], int] = {}
    for stage in stages:
        for p, offset in (await stack.committed(stage.group, stage.topic)).items():
            committed[(stage.topic, p)] = offset
        for p, end in (await stack.partition_ends(stage.topic)).items():
            ends[(stage.topic, p)] = end
    return committed, ends


@dataclass
class Membership:
    """The main group's generations over the kills: a spurious one is a rebalance nobody caused."""

    generations: int  # joined after the first kill
    spurious: int  # beyond two per cycle
    errors: int  # log lines of members losing their membership (`MEMBERSHIP_ERRORS`)
    expected: bool  # two per cycle holds (not with `restart_at_once`: static rejoins may skip one)


async def run(sizes: Sizes) -> tuple[Outcome, Membership, list[str]]:
    """One run of `sizes.cycles` kills; the outcome and lines of detail (offsets, fates)."""
    overrides: dict[str, object] = {}
    async with Stack("chaos-failover", settings_overrides=overrides, keep_logs=True) as stack:
        settings = stack.settings
        partitions = settings.topic_partitions
        invs = data.invoices(max(1, sizes.checks // 2))
        probe_range = range(PROBE_FIRST, PROBE_FIRST + PROBES_PER_PARTITION * partitions)
        requests = data.check_requests(invs, sizes.checks)
        await stack.produce(stack.topic("invoices.issued"), data.issued_messages(invs))
        await stack.produce(
            stack.topic("invoices.issued"), data.issued_messages([data.invoice(i) for i in probe_range])
        )
        messages = list(data.check_messages(requests))
        tail = ResultsTail(
            stack,
            stack.topic("checks.results"),
            partition_of=lambda key: probes.partition_of(key, partitions),
        )
        await tail.start()
        prober = Prober(stack, tail, probes.pool(probe_range, partitions), poll=lambda: asyncio.sleep(0.1))
        feed = Feed(stack, tail, prober, messages, sizes)
        await feed.top_up()
        workers = Workers(stack, sizes.static)
        for name in NAMES:
            workers.start(name)
        stop = asyncio.Event()
        follower = asyncio.create_task(_follow(tail, feed, stop))
        cycles: list[Cycle] = []
        problem = ""
        group = settings.faust_app_id
        try:
            for k in range(sizes.cycles):
                cycles.append(await _cycle(k, sizes, stack, workers, prober, feed, tail))
        except RuntimeError as exc:
            problem = str(exc)
            console.print(f"  [red]{problem}[/red]")
        finally:
            feed.on = False
        wanted = {str(r.check_id) for r in requests[: feed.produced]} | prober.ids
        last, since = -1, time.monotonic()
        while time.monotonic() - since < QUIET_SECONDS and len(tail.ids) < len(wanted):
            if len(tail.ids) != last:
                last, since = len(tail.ids), time.monotonic()
            await asyncio.sleep(0.5)
        stop.set()
        await follower
        await tail.stop()

        sink = settings.sink_group
        logs = [path.read_text(errors="replace") for path in sorted(stack.logs.glob("worker-*.log"))]
        joined = joined_generations(logs, group)
        first_kill = cycles[0].killed_at if cycles else time.time()
        membership = Membership(
            generations=sum(1 for when in joined.values() if when > first_kill),
            spurious=spurious_generations(joined, first_kill, len(cycles)),
            errors=membership_errors(logs),
            expected=not sizes.restart_at_once,
        )
        stages = [Stage(stack.topic("checks.requested"), group)]
        if settings.risk_enabled:
            stages.append(Stage(stack.topic("checks.verified"), group))
        stages.append(Stage(stack.topic("checks.results"), sink))
        committed, ends = await stage_offsets(stack, stages)  # before the topics are read: the workers go on
        seen = {s.topic: last_copies(await stack.read_topic(s.topic)) for s in stages}
        answered = set(seen[stack.topic("checks.results")]) & wanted
        stored, extra, gaps = await stored_counts(stack, wanted, timeout=60)
        letters = {
            cid
            for letter in await dead_letters(stack)
            for cid in re.findall(r"[0-9a-f-]{36}", letter.payload)
        } & wanted
        missing = wanted - stored - letters
        outcome = Outcome(
            requested=len(wanted),
            stored=len(stored),
            dead_letters=len(letters),
            unanswered=len(wanted - answered),
            extra_rows=extra,
            numbering_gaps=gaps,
            cycles=cycles,
            fates=fates(missing, stages, seen, committed, ends),
        )
        results = [json.loads(r.value) for r in await stack.read_topic(stack.topic("checks.results"))]
        twice = recounted((r["check_id"], int(r["check_count"]), bool(r.get("follow_up"))) for r in results)
        details = _details(stack, stages, committed, ends, outcome, len(results), twice, problem)
    return outcome, membership, details


def _details(
    stack: Stack,
    stages: list[Stage],
    committed: dict[tuple[str, int], int],
    ends: dict[tuple[str, int], int],
    outcome: Outcome,
    result_records: int,
    twice: dict[str, list[int]],
    problem: str,
) -> list[str]:
    lines = []
    if problem:
        lines.append(f"stopped early: {problem}")
    lines.append(
        f"checks.results: {result_records} records for {outcome.requested - outcome.unanswered} "
        "answered checks (redone at a rebalance: collapsed by the sink); "
        f"checks counted again with another 第N次: {len(twice)}"
        + (f", e.g. {list(twice.items())[:3]}" if twice else "")
    )
    lines.extend(f"cycle {n} ({c.victim}): {c.note}" for n, c in enumerate(outcome.cycles, 1) if c.note)
    lines.append("committed / end offset per partition at the end (lag marked *):")
    for stage in stages:
        parts = sorted(p for (t, p) in ends if t == stage.topic)
        cells = []
        for p in parts:
            done, end = committed.get((stage.topic, p), -1), ends[(stage.topic, p)]
            cells.append(f"{p}:{done}/{end}{'*' if done < end else ''}")
        lines.append(
            f"  {stage.topic.removeprefix(stack.settings.topic_prefix)} ({stage.group}): {' '.join(cells)}"
        )
    if outcome.fates:
        by_where = where_stopped(outcome.fates, stack.settings.topic_prefix)
        lines.append(
            "lost checks by where they stopped: "
            + ", ".join(f"{w}: {n}" for w, n in sorted(by_where.items()))
        )
        lines.extend(f"  {f.describe()}" for f in outcome.fates[:20])
        if len(outcome.fates) > 20:
            lines.append(f"  … and {len(outcome.fates) - 20} more")
    return lines


def _median(values: Iterable[float | None]) -> str:
    known = [v for v in values if v is not None]
    return secs(percentiles(known, (50,))["p50"] if known else None)


def _spread(values: Iterable[float | None]) -> str:
    """Median and max of the cycles that measured one (those that never did are in the verdict)."""
    known = [v for v in values if v is not None]
    return f"median {_median(known)}, max {secs(max(known) if known else None)}"


def session_timeout() -> float:
    """The workers' group session timeout (the bench's workers inherit FAPIAO_* from its environment)."""
    return Settings().worker_session_timeout_seconds


def heartbeat() -> float:
    return Settings().worker_heartbeat_seconds


def report(
    result: Result, sizes: Sizes, outcome: Outcome, membership: Membership, details: list[str]
) -> bool:
    ok, text = verdict(outcome, sizes.cycles, FAILOVER_TARGET)
    if ok and sizes.cycles < ISSUE_CYCLES:
        text += f" — but only {sizes.cycles} cycles: the issue's target is over {ISSUE_CYCLES}"
    label = f"2 workers, kill -9 x{sizes.cycles} ({'static' if sizes.static else 'dynamic'} membership)"
    result.add(
        label,
        f"lost {outcome.lost}, double-counted {outcome.double_counted}",
        f"requested {outcome.requested} = stored {outcome.stored} + dead letters {outcome.dead_letters}"
        f" + lost {outcome.lost}; unanswered {outcome.unanswered}; "
        f"{outcome.extra_rows} extra rows through FINAL, "
        f"{outcome.numbering_gaps} invoices with 第N次 not 1..n",
    )
    result.add(
        "  failover (the dead worker's partitions)",
        _spread(c.failover for c in outcome.cycles),
        "kill → each of its partitions answered a probe sent after the kill; "
        f"target ≤ {FAILOVER_TARGET:.0f} s; "
        f"per cycle: {', '.join(secs(c.failover) for c in outcome.cycles)}",
    )
    result.add(
        "  its partitions deciding again",
        _spread(c.resumed for c in outcome.cycles),
        "kill → each of its partitions had a result decided after the kill (any check: the backlog "
        "ahead of the probes not waited for); per cycle: "
        + ", ".join(secs(c.resumed) for c in outcome.cycles),
    )
    result.add(
        "  where it went: survivor rejoined / resumed",
        f"median {_median(c.survivor_joined for c in outcome.cycles)} / "
        f"{_median(c.survivor_ready for c in outcome.cycles)}",
        "kill → the other worker's next generation (the dead member's session timeout + the rebalance) "
        "/ → its streams resumed ('Resuming flow': tables recovered); the rest: what was ahead of the "
        "probes (records since the dead worker's last commit, and those queued meanwhile); per cycle: "
        + ", ".join(f"{secs(c.survivor_joined)} / {secs(c.survivor_ready)}" for c in outcome.cycles),
    )
    every = [c.all_partitions for c in outcome.cycles if c.all_partitions is not None]
    result.add(
        "  every partition answering again",
        f"max {secs(max(every) if every else None)}",
        f"per cycle: {', '.join(secs(c.all_partitions) for c in outcome.cycles)}",
    )
    result.add(
        "  restart → ready / rejoined",
        f"median {_median(c.ready for c in outcome.cycles)} / {_median(c.rejoined for c in outcome.cycles)}",
        "'Worker ready' in its log / both workers assigned in a stable group; outstanding at the kills: "
        + ", ".join(str(c.outstanding) for c in outcome.cycles),
    )
    result.add(
        "  rebalances nobody caused",
        f"{membership.spurious} spurious" if membership.expected else "not counted (restart at once)",
        f"{membership.generations} generations of the group after the first kill, "
        f"{2 * len(outcome.cycles)} made by the kills and restarts (two per cycle); "
        f"{membership.errors} log lines of a member losing its membership "
        f"(session timeout {session_timeout():g} s, heartbeat {heartbeat():g} s)",
    )
    if membership.expected and membership.spurious:
        ok, text = False, f"{text}; {membership.spurious} spurious rebalances"
    result.details.extend(details)
    result.add("  verdict (issue 13 targets)", "met" if ok else "NOT MET", text)
    return ok
