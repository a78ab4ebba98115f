"""Analytics at 10 million results: load time, then the latency of the API's trend and history queries.

`python -m bench.analytics_queries [--rows N] [--runs N] [--keep] [--no-record]`

Generates the results straight into a fresh ClickHouse database with INSERT … SELECT FROM numbers()
(batches of 1M rows, so the rollups' materialized views run as they do on the sink's inserts), adds
the multi-row cases the rollups must not double count (pending_sync then resolved, 一致 then 作废,
redelivered sink batches), waits for merges, runs the trend-count warming the worker's leader runs in the
background (fapiao.warehouse.count_warmer), then times the same functions the API calls (query + Python
shaping) on the 18.16 server: the first call, and the median and p95 of several runs after it.
Results go to docs/benchmarks.md between the `bench:analytics-queries` markers.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import re
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from fapiao.analytics.catalog import Bucket, Dimension
from fapiao.analytics.filters import CheckFilters, local_today
from fapiao.analytics.history import Cursor, HistoryQuery, SortKey
from fapiao.analytics.trends import TrendQuery
from fapiao.settings import Settings
from fapiao.warehouse import migrations
from fapiao.warehouse.count_warmer import warm_counts
from fapiao.warehouse.engine import NativeEngine
from fapiao.warehouse.history import fetch_page
from fapiao.warehouse.period_report import fetch_period
from fapiao.warehouse.trends import fetch_trend

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench:analytics-queries:begin -->", "<!-- bench:analytics-queries:end -->"
ORG = "bench"
BATCH = 1_000_000
SECONDS_APART = 3  # 10M results over ~347 days

_REGIONS = "['1100','1100','1100','1100','3100','3200','3300','4400','4403','5100','3700','4200']"
# verdict by number % 100: 2% held for sync (resolved later), 4% 不一致, 3% 查无此票, 1% each of the rest
_VERDICT = (
    "multiIf(v < 2, 'pending_sync', v < 6, 'inconsistent', v < 9, 'not_found', v < 10, 'voided', "
    "v < 11, 'red_flushed_partial', v < 12, 'abnormal', v < 13, 'limit_exceeded', 'consistent')"
)
_FOUND = "verdict IN ('consistent', 'voided', 'red_flushed_partial', 'abnormal')"
_COLUMNS = """check_id, result_version, result_id, requested_at, requested_date, decided_at,
    org_id, requester_ref, requester_sealed, channel, invoice_key, fplx, invoice_code, invoice_number,
    issue_date, verdict, check_count, follow_up, invoice_status, seller_ref, seller_sealed, buyer_ref,
    buyer_sealed, amount, tax, total, risk_score, risk_severity"""


def bench_ref(role: str, key: int | str) -> str:
    """The stand-in pseudonym of the generated data (64 hex digits, like HMAC-SM3's): see _ref_sql."""
    return hashlib.sha256(f"{role}-{key}".encode()).hexdigest()


def _ref_sql(role: str, key: str) -> str:
    """Parties and requesters rest sealed (migration 010): a pseudonym and an envelope, the plaintext
    columns empty. The generator stands in SHA-256 for HMAC-SM3 and 195 characters for the SM4-GCM
    envelope (about its size); the queries read them the same way."""
    return f"lower(hex(SHA256(concat('{role}-', {key}))))"


LOAD_SQL = f"""
INSERT INTO check_results ({_COLUMNS})
SELECT check_id, 1, generateUUIDv4(), ts, toDate(ts), ts, '{ORG}',
    r_ref, concat('t1:', r_ref, r_ref, r_ref), 'api',
    if(code = '', num, concat(code, '-', num)), fplx, code, num, toDate(ts) - 3, verdict, 1, 0,
    if({_FOUND}, 'normal', ''),
    if({_FOUND}, s_ref, ''), if({_FOUND}, concat('t1:', s_ref, s_ref, s_ref), ''),
    if({_FOUND}, b_ref, ''), if({_FOUND}, concat('t1:', b_ref, b_ref, b_ref), ''),
    if({_FOUND}, toDecimal64(amt, 2), toDecimal64(0, 2)),
    if({_FOUND}, toDecimal64(amt * 0.13, 2), toDecimal64(0, 2)),
    if({_FOUND}, toDecimal64(amt * 1.13, 2), toDecimal64(0, 2)),
    toUInt8(number % 97), if(number % 97 >= 60, 'high', 'low')
FROM (
    SELECT number, generateUUIDv4() AS check_id,
        toDateTime(%(end)s, 'UTC') - number * {SECONDS_APART} AS ts,
        number % 100 AS v, {_VERDICT} AS verdict,
        arrayElement({_REGIONS}, number % 12 + 1) AS region, number % 7 AS kind,
        multiIf(kind = 0, '32', kind = 1, '31', kind = 2, '32', kind = 5, '04', kind = 6, '01', '10') AS fplx,
        multiIf(kind < 3, '', kind = 6, concat(region, '26', '1130'),
                concat('0', region, '26', '000', if(kind = 5, '04', '11'))) AS code,
        if(kind < 3, concat('26', substring(region, 1, 2), '2', toString(100000000000000 + number)),
           toString(10000000 + number % 90000000)) AS num,
        (number % 100000) / 10 + 10 AS amt,
        {_ref_sql("seller", "toString(number % 20000)")} AS s_ref,
        {_ref_sql("buyer", "toString(number % 3000)")} AS b_ref,
        {_ref_sql("requester", "toString(number % 500)")} AS r_ref
    FROM numbers(%(offset)s, %(count)s)
)
"""
# the second results: every held check resolved as 一致, one 一致 check in 200 voided later
FOLLOW_UP_SQL = f"""
INSERT INTO check_results ({_COLUMNS})
SELECT check_id, 2, generateUUIDv4(), requested_at, requested_date, decided_at + 60, org_id, requester_ref,
    requester_sealed, channel, invoice_key, if(held, if(invoice_code = '', '32', fplx), fplx), invoice_code,
    invoice_number, issue_date, if(held, 'consistent', 'voided'), check_count, 1,
    if(held, 'normal', 'voided'), if(held, found_ref, seller_ref),
    if(held, concat('t1:', found_ref, found_ref, found_ref), seller_sealed), buyer_ref, buyer_sealed,
    if(held, toDecimal64(100, 2), amount), if(held, toDecimal64(13, 2), tax),
    if(held, toDecimal64(113, 2), total), risk_score, risk_severity
FROM (SELECT *, verdict = 'pending_sync' AS held,
          {_ref_sql("seller", "toString(cityHash64(invoice_number) % 20000)")} AS found_ref FROM check_results
      WHERE verdict = 'pending_sync' OR (verdict = 'consistent' AND cityHash64(toString(check_id)) % 200 = 0))
"""
# at-least-once delivery: after a sink failure a whole batch is written again; here every result of
# one hour in 50 (about a sink batch at this rate) is written twice, 2% of the results
REDELIVER_SQL = (
    "INSERT INTO check_results SELECT * FROM check_results "
    "WHERE cityHash64(toString(toStartOfHour(requested_at))) % 50 = 7"
)


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, float, float, Any]:
    """(first call ms, median ms, p95 ms, last result): the first call also fills unit_figures."""
    samples, out = [], None
    for _ in range(runs + 1):
        started = time.perf_counter()
        out = fn()
        samples.append((time.perf_counter() - started) * 1000)
    cold, warm = samples[0], sorted(samples[1:])
    return cold, statistics.median(warm), warm[min(len(warm) - 1, int(len(warm) * 0.95))], out


def forget_counts(engine: NativeEngine) -> None:
    """Empty unit_figures, so the warming pass shows the cost of computing every unit."""
    parts = engine.execute(
        "SELECT DISTINCT partition FROM system.parts "
        "WHERE database = %(db)s AND table = 'unit_figures' AND active",
        {"db": engine.database},
    )
    for (partition,) in parts:
        engine.execute(f"ALTER TABLE unit_figures DROP PARTITION {int(str(partition).strip(chr(39)))}")


def calibrate(engine: NativeEngine) -> float:
    """How fast this machine is right now (ms, median of 3): other work on it slows every query."""
    sql = "SELECT uniqExact(number) FROM numbers(10000000)"
    return timed(lambda: engine.execute(sql), 3)[1]


def load(engine: NativeEngine, rows: int, end: datetime) -> float:
    started = time.perf_counter()
    for offset in range(0, rows, BATCH):
        count = min(BATCH, rows - offset)
        # literal values, not parameters: the generator's SQL is full of `%` (modulo)
        sql = LOAD_SQL.replace("%(end)s", f"'{end:%Y-%m-%d %H:%M:%S}'")
        engine.execute(sql.replace("%(offset)s", str(int(offset))).replace("%(count)s", str(int(count))))
        print(f"  loaded {offset + count:,} results", flush=True)
    engine.execute(FOLLOW_UP_SQL)
    engine.execute(REDELIVER_SQL)
    return time.perf_counter() - started


def settle(engine: NativeEngine, limit: float = 300) -> None:
    """Wait until background merges stop (as a running system would look), at most `limit` s."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        busy = engine.execute(
            "SELECT count() FROM system.merges WHERE database = %(db)s", {"db": engine.database}
        )
        if not busy[0][0]:
            return
        time.sleep(2)


def warm(engine: NativeEngine, today: date) -> tuple[float, float]:
    """(seconds of the first pass, seconds of the next) of the worker's count warming from nothing:
    what the running system does in the background before anyone asks (count_warmer)."""
    forget_counts(engine)
    first = warm_counts(engine, today, 400).seconds
    return first, warm_counts(engine, today, 400).seconds


def measure(engine: NativeEngine, today: date, runs: int) -> list[tuple[str, float, float, float, str]]:
    year = (today - timedelta(days=364), today)
    month = (today - timedelta(days=29), today)
    cases: list[tuple[str, Callable[[], Any], Callable[[Any], str]]] = []

    def trend(label: str, query: TrendQuery) -> None:
        cases.append((label, lambda: fetch_trend(engine, ORG, query), lambda t: f"{len(t.series)} series"))

    trend("trend: 30 days by day, total (dashboard default)", TrendQuery(*month, Bucket.DAY))
    trend("trend: 365 days by day, total", TrendQuery(*year, Bucket.DAY))
    trend("trend: 365 days by day × region", TrendQuery(*year, Bucket.DAY, Dimension.REGION))
    trend("trend: 365 days by month × verdict", TrendQuery(*year, Bucket.MONTH, Dimension.VERDICT))
    trend("trend: 365 days by week × seller (top 10)", TrendQuery(*year, Bucket.WEEK, Dimension.SELLER))
    trend(
        "trend: 7 days by hour × type",
        TrendQuery(today - timedelta(days=6), today, Bucket.HOUR, Dimension.TYPE),
    )

    def page(label: str, query: HistoryQuery, second: bool = False) -> None:
        def run() -> Any:
            first = fetch_page(engine, ORG, query, None, today)
            if second and first.next_cursor:
                return fetch_page(
                    engine, ORG, query, Cursor.decode(first.next_cursor, query.fingerprint()), today
                )
            return first

        cases.append((label, run, lambda p: f"{len(p.items)} rows"))

    everything = CheckFilters()
    page("history: first page of 50, newest first, no filter", HistoryQuery(everything))
    page("history: pages 1 + 2 (cursor), newest first", HistoryQuery(everything), second=True)
    page(
        "history: 50 of 一致 and 365 days",
        HistoryQuery(CheckFilters(date_from=year[0], verdicts=("consistent",))),
    )
    page(
        "history: one seller (tax id), 365 days",
        HistoryQuery(  # the pseudonym the API derives from the tax id (reveal.pseudonymise_filters)
            CheckFilters(
                date_from=year[0], seller="911110000000000123", seller_refs=(bench_ref("seller", 123),)
            )
        ),
    )
    page(
        "history: one seller by 价税合计, 365 days",
        HistoryQuery(
            CheckFilters(
                date_from=year[0], seller="911110000000000123", seller_refs=(bench_ref("seller", 123),)
            ),
            sort=SortKey.TOTAL,
        ),
    )
    page("history: invoice number lookup, all time", HistoryQuery(CheckFilters(invoice_number="10001234")))
    page(
        "history: invoice number of a check, all time", HistoryQuery(CheckFilters(invoice_number="10000004"))
    )
    page(
        "history: 50 by 价税合计, 30 days", HistoryQuery(CheckFilters(date_from=month[0]), sort=SortKey.TOTAL)
    )
    cases.append(
        (
            "period report data: 30 days (5 trends + sellers)",
            lambda: fetch_period(engine, ORG, *month),
            lambda d: "ok",
        )
    )
    results = []
    for label, fn, describe in cases:
        cold, median, p95, out = timed(fn, runs)
        results.append((label, cold, median, p95, describe(out)))
        print(f"  {label}: first {cold:.0f} ms, median {median:.0f} ms, p95 {p95:.0f} ms", flush=True)
    return results


def record(text: str) -> None:
    doc = DOC.read_text("utf-8") if DOC.exists() else "# Benchmarks\n"
    block = f"{BEGIN}\n{text.rstrip()}\n{END}"
    if BEGIN in doc and END in doc:
        doc = re.sub(re.escape(BEGIN) + r".*?" + re.escape(END), lambda _: block, doc, flags=re.DOTALL)
    else:
        doc = doc.rstrip() + "\n\n## Analytics queries (history, trends, reports)\n\n" + block + "\n"
    DOC.write_text(doc, "utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--database", help="measure this already loaded database (implies --keep)")
    parser.add_argument("--no-record", action="store_true", help="do not write docs/benchmarks.md")
    args = parser.parse_args()
    settings = Settings()
    engine = NativeEngine(settings, database=args.database or f"bench_analytics_{uuid.uuid4().hex[:8]}")
    now = datetime.now(UTC).replace(microsecond=0)
    keep = args.keep or bool(args.database)
    try:
        version = engine.execute("SELECT version()")[0][0]
        if args.database:
            migrations.migrate(engine)  # newer migrations of an older load
            seconds = float("nan")
            newest = engine.execute("SELECT max(requested_at) FROM check_results")[0][0]
            now = newest.replace(tzinfo=UTC) if newest.tzinfo is None else newest.astimezone(UTC)
        else:
            migrations.migrate(engine)
            print(
                f"ClickHouse {version}, database {engine.database}: loading {args.rows:,} results", flush=True
            )
            seconds = load(engine, args.rows, now)
        stored = engine.execute("SELECT count() FROM check_results")[0][0]
        settle(engine)
        load_before = os.getloadavg()
        calibration = calibrate(engine)
        sizes = dict(
            engine.execute(
                "SELECT table, sum(bytes_on_disk) FROM system.parts "
                "WHERE database = %(db)s AND active GROUP BY table",
                {"db": engine.database},
            )
        )
        warmed = warm(engine, local_today(now))
        results = measure(engine, local_today(now), args.runs)
        load_after = os.getloadavg()
    finally:
        if not keep:
            engine.execute(f"DROP DATABASE IF EXISTS {engine.database}")
        engine.close()
    mib = {
        t: f"{sizes.get(t, 0) / 2**20:,.0f} MiB"
        for t in (
            "check_results",
            "checks_hourly",
            "sellers_daily",
            "seller_days",
            "requesters_daily",
            "check_numbers",
            "check_party_rows",
        )
    }
    command = f"python -m bench.analytics_queries --rows {args.rows} --runs {args.runs}"
    lines = [
        "### analytics-queries — trends and history over 10M results (ClickHouse 18.16)",
        "",
        f"- **date**: {now:%Y-%m-%d %H:%M} UTC · **command**: `{command}`",
        f"- **machine**: {platform.machine()}, {os.cpu_count()} CPUs; ClickHouse {version} on the same "
        f"machine; load average {load_before[0]:.1f} before, {load_after[0]:.1f} after the queries "
        "(other work shares the machine)",
        f"- **calibration**: `SELECT uniqExact(number) FROM numbers(10000000)` took {calibration:.0f} ms "
        "(a quiet core: about 500 ms) — scale the table by it when comparing runs",
        f"- **data**: {args.rows:,} checks of one organisation over ~{args.rows * SECONDS_APART // 86400} "
        f"days, {stored:,} result rows (held then resolved, 一致 then 作废, every result "
        "of one hour in 50 written twice); "
        "12 regions, 7 invoice types, 20,000 sellers, 500 requesters",
        (
            f"- **load**: {seconds:.1f} s ({stored / seconds:,.0f} rows/s; INSERT … SELECT FROM numbers() "
            "in 1M-row batches, the rollups' materialized views included)"
            if seconds == seconds
            else "- **load**: not measured (an already loaded database, `--database`)"
        ),
        "- **on disk**: " + ", ".join(f"{t} {s}" for t, s in mib.items()),
        f"- **count warming** (count_warmer, 400 days, as the worker's leader runs it in the background): "
        f"{warmed[0]:.1f} s from an empty unit_figures, {warmed[1]:.1f} s for the next pass",
        "- **timing**: the API's own functions (SQL + Python shaping) over the native protocol. "
        "*First call*: the first request after that warming pass (units that got rows since are "
        "computed then and remembered); "
        f"*median* and *p95* of the {args.runs} calls after it",
        "",
        "| query | first call | median | p95 | returned |",
        "|---|---:|---:|---:|---|",
        *[
            f"| {label} | {cold:.0f} ms | {median:.0f} ms | {p95:.0f} ms | {what} |"
            for label, cold, median, p95, what in results
        ],
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_record:
        record(text)


if __name__ == "__main__":
    main()
