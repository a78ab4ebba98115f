"""The machine and versions a run happened on, the results tables, and docs/benchmarks.md.

docs/benchmarks.md keeps one generated section per benchmark between
`<!-- bench:<name>:begin -->` and `<!-- bench:<name>:end -->`; a new run of that benchmark replaces
its section and leaves everything else in the file (hand-written analysis included) as it is.
"""

from __future__ import annotations

import os
import platform
import re
import shlex
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.harness import REPO
from bench.stats import Result

DOC = REPO / "docs" / "benchmarks.md"
console = Console(width=None if sys.stdout.isatty() else 150)

_DOC_HEADER = """# Benchmarks

Measured with `python -m bench` (`make bench`) against the real local servers started by
`make services-up` (Kafka in KRaft mode and ClickHouse, both on 127.0.0.1). See `bench/` for the
code and `python -m bench --help` for the options. Each benchmark is self-contained: it creates its
own topic prefix, consumer groups, Faust app id and ClickHouse database, starts its own worker / API
subprocesses and removes all of it when it ends.

**Everything shares one small machine.** Kafka, ClickHouse, the Faust worker, the API *and the load
generator / measuring client* all run on the same cores, so the numbers are those of the whole stack
on this box, not of any one component in isolation. Other work on the machine (the load average is
recorded per run) shifts them too.

The sections between `bench:…:begin/end` markers are rewritten by each full run of that benchmark;
`--quick` runs only print their results unless given `--record`.
"""


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _nproc() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 0


def kafka_version() -> str:
    libs = Path(os.environ.get("FAPIAO_LOCAL_DIR", REPO / ".local")) / "kafka" / "libs"
    for jar in sorted(libs.glob("kafka-clients-*.jar")) if libs.exists() else []:
        match = re.match(r"kafka-clients-(.+)\.jar$", jar.name)
        if match:
            return match.group(1)
    return "unknown"


def _pkg(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "?"


def code_version() -> str:
    """The commit that ran: a --source snapshot's, or the checkout's HEAD (+ whether it was dirty)."""
    snapshot = os.environ.get("FAPIAO_BENCH_COMMIT")
    if snapshot:
        return f"{snapshot[:10]} (clean snapshot of the commit)"
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    dirty = [ln for ln in status if not ln[3:].startswith(("bench/", "docs/benchmarks.md"))]
    return f"{head[:10]}" + (f" + uncommitted changes in {len(dirty)} files" if dirty else "")


def environment(clickhouse_version: str) -> dict[str, str]:
    load1, load5, _ = os.getloadavg()
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "code": code_version(),
        "machine": f"{_nproc()} CPUs ({_cpu_model()}), {_ram()} RAM, Linux {platform.release()}",
        "load": f"{load1:.2f} (1 min), {load5:.2f} (5 min) at the start",
        "servers": f"Kafka {kafka_version()} (KRaft, 1 broker), ClickHouse {clickhouse_version}",
        "python": (
            f"Python {platform.python_version()}; faust-streaming {_pkg('faust-streaming')}, "
            f"aiokafka {_pkg('aiokafka')}, fastapi {_pkg('fastapi')}, uvicorn {_pkg('uvicorn')}, "
            f"uvloop {_pkg('uvloop')}, httptools {_pkg('httptools')}, "
            f"httpx {_pkg('httpx')}, clickhouse-driver {_pkg('clickhouse-driver')}, "
            f"pydantic {_pkg('pydantic')}"
        ),
    }


def command_line() -> str:
    args = [shlex.quote(a) for a in sys.argv[1:]]
    source = os.environ.get("FAPIAO_BENCH_SOURCE")
    if source:
        args = ["--source", shlex.quote(source), *args]
    return " ".join(["python -m bench", *args])


def print_result(result: Result) -> None:
    table = Table(title=result.title, title_justify="left", show_lines=False)
    table.add_column("metric", style="bold")
    table.add_column("value", justify="right")
    table.add_column("note", style="dim")
    for metric, value, note in result.rows:
        table.add_row(metric, value, note)
    console.print(table)
    if result.verdict:
        console.print(f"[bold]→ {result.verdict}[/bold]")
    for note in result.notes:
        console.print(f"  • {note}")
    if result.details:
        console.print("\n".join(result.details), markup=False, highlight=False)
    console.print()


def _markdown(result: Result, env: dict[str, str], command: str) -> str:
    lines = [
        f"<!-- bench:{result.name}:begin -->",
        f"### {result.title}",
        "",
        f"- **date**: {env['date']}",
        f"- **command**: `{command}`",
        f"- **code**: {env['code']}",
        f"- **machine**: {env['machine']}; load {env['load']}",
        f"- **servers**: {env['servers']}",
        f"- **software**: {env['python']}",
        "- **parameters**: " + ", ".join(f"{k}={v}" for k, v in result.params.items()),
        "",
        "| metric | value | note |",
        "|---|---:|---|",
    ]
    for metric, value, note in result.rows:
        lines.append(f"| {metric} | {value} | {note.replace('|', '/')} |")
    lines.append("")
    if result.verdict:
        lines += [f"**{result.verdict}**", ""]
    lines += [f"- {n}" for n in result.notes]
    if result.details:
        lines += ["", "```text", *result.details, "```"]
    lines += ["", f"<!-- bench:{result.name}:end -->"]
    return "\n".join(lines)


def record(results: list[Result], env: dict[str, str], command: str, doc: Path = DOC) -> None:
    text = doc.read_text("utf-8") if doc.exists() else _DOC_HEADER
    if "## Latest results" not in text:
        text = text.rstrip() + "\n\n## Latest results\n"
    for result in results:
        section = _markdown(result, result.env or env, command)
        pattern = re.compile(
            rf"<!-- bench:{re.escape(result.name)}:begin -->.*?<!-- bench:{re.escape(result.name)}:end -->",
            re.DOTALL,
        )
        if pattern.search(text):
            text = pattern.sub(lambda _m: section, text)  # noqa: B023 (used at once)
        else:
            # a new section goes at the end of "## Latest results" (before the next `## ` heading)
            start = text.index("## Latest results")
            nxt = text.find("\n## ", start + 1)
            if nxt == -1:
                text = text.rstrip() + "\n\n" + section + "\n"
            else:
                text = text[:nxt].rstrip() + "\n\n" + section + "\n" + text[nxt:]
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text.rstrip() + "\n", "utf-8")
    console.print(f"recorded in {doc}")
