"""`fapiao extract`, `fapiao check`, `fapiao batch`: documents read locally, batches through the API.

`extract` never submits anything. `check` and `batch` upload to `POST /v1/batches`, follow the progress
with a bar, print a summary table and write the results file the API serves (CSV or XLSX).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from fapiao.documents import DocumentError, read_document
from fapiao.documents.to_check import check_fields

MIME = {
    ".csv": "text/csv",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".zip": "application/zip",
    ".pdf": "application/pdf",
    ".ofd": "application/ofd",
    ".xml": "application/xml",
}


MAX_FILES = 100  # more files than this go up as one ZIP (a form takes at most 1,000 parts)


class ClientError(RuntimeError):
    """The API refused or could not be reached; the message is for the user."""


def extraction_report(path: Path) -> dict[str, Any]:
    """What `extract --json` prints for one file: fields and sources, the check, or the error."""
    try:
        extraction = read_document(path.name, path.read_bytes())
    except DocumentError as exc:
        return {"file": str(path), "ok": False, "error": _error(exc)}
    except OSError as exc:
        return {"file": str(path), "ok": False, "error": {"code": "io_error", "message_en": str(exc)}}
    report: dict[str, Any] = {**extraction.to_dict(), "file": str(path), "ok": True}
    try:
        fields = check_fields(extraction)
        report["check"] = {
            "invoice_code": fields.invoice_code,
            "invoice_number": fields.invoice_number,
            "issue_date": fields.issue_date.isoformat(),
            **({"amount": str(fields.amount)} if fields.amount is not None else {}),
            **({"check_code": fields.check_code} if fields.check_code else {}),
        }
    except DocumentError as exc:
        report["check"] = None
        report["check_error"] = _error(exc)
    return report


def extract(paths: Sequence[Path], as_json: bool, console: Console) -> int:
    """Print what each file says; exit status 1 when any file could not be read."""
    reports = [extraction_report(p) for p in paths]
    if as_json:
        for report in reports:
            sys.stdout.write(json.dumps(report, ensure_ascii=False) + "\n")
    else:
        table = Table("file", "number", "date", "check field", "sources", "confidence", "problem")
        for r in reports:
            if not r["ok"]:
                table.add_row(Path(r["file"]).name, "", "", "", "", "", r["error"]["message_zh"])
                continue
            fields, check = r["fields"], r.get("check") or {}
            sources = sorted({f["source"] for f in fields.values()})
            fourth = check.get("amount") or check.get("check_code") or ""
            problem = (r.get("check_error") or {}).get("message_zh", "")
            number = check.get("invoice_number", fields.get("invoice_number", {}).get("value", ""))
            table.add_row(
                r["file"],
                number,
                check.get("issue_date", ""),
                fourth,
                ",".join(sources),
                str(r["confidence"]),
                problem,
            )
        console.print(table)
    return 0 if all(r["ok"] and r.get("check") for r in reports) else 1


def submit(
    paths: Sequence[Path],
    *,
    api_url: str,
    api_key: str | None,
    output: Path | None,
    fmt: str,
    timeout: float,
    console: Console,
) -> int:
    """Upload, follow, summarise, write the results file; exit status 1 when rows were rejected."""
    headers = {"X-API-Key": api_key} if api_key else {}
    with (
        httpx.Client(base_url=api_url.rstrip("/"), headers=headers, timeout=600) as client,
        tempfile.TemporaryDirectory(prefix="fapiao-") as scratch,
    ):
        if len(paths) > MAX_FILES:
            paths = [bundle(paths, Path(scratch) / "documents.zip")]
        files = [
            ("files", (p.name, p.open("rb"), MIME.get(p.suffix.lower(), "application/octet-stream")))
            for p in paths
        ]
        try:
            batch = _ok(client.post("/v1/batches", files=files))
        except httpx.HTTPError as exc:
            raise ClientError(f"cannot reach the API at {api_url}: {exc}") from None
        finally:
            for _, (_, handle, _) in files:
                handle.close()
        console.print(
            f"batch {batch['batch_id']}: {batch['total']} rows, {batch['accepted']} accepted, "
            f"{batch['rejected']} rejected 未受理"
        )
        view = _follow(client, batch, timeout, console)
        target = output or Path(f"batch-{batch['batch_id']}-results.{fmt}")
        response = _ok_raw(client.get(batch["results"], params={"format": fmt}))
        target.write_bytes(response.content)
    console.print(_summary(view))
    for rejection in view["rejections"][:20]:
        where = rejection.get("file") or f"line {rejection.get('line')}"
        reasons = "; ".join(
            f"{p['field']}: {p['message_zh']} / {p['message_en']}" for p in rejection["problems"]
        )
        console.print(f"  [red]row {rejection['row']}[/] ({where}): {reasons}")
    console.print(f"results written to {target}")
    return 0 if view["rejected"] == 0 and view["finished"] else 1


def bundle(paths: Sequence[Path], target: Path) -> Path:
    """The files in one ZIP (stored: PDF and OFD are compressed already), names made unique."""
    seen: set[str] = set()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as archive:
        for n, path in enumerate(paths, start=1):
            name = path.name if path.name not in seen else f"{n:05d}-{path.name}"
            seen.add(name)
            archive.write(path, name)
    return target


def _follow(client: httpx.Client, batch: dict[str, Any], timeout: float, console: Console) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    columns = (TextColumn("checking"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("checks", total=batch["accepted"])
        while True:
            view = _ok(client.get(batch["location"]))
            progress.update(task, completed=view["done"], total=view["accepted"])
            if view["finished"] or time.monotonic() > deadline:
                return view
            time.sleep(0.5)


def _summary(view: dict[str, Any]) -> Table:
    from fapiao.domain.verification import MESSAGES
    from schemas.events import Verdict

    table = Table("结果 verdict", "count", title=view["file_name"])
    for verdict, count in sorted(view["by_verdict"].items(), key=lambda kv: -kv[1]):
        zh = MESSAGES[Verdict(verdict)][0] if verdict in Verdict._value2member_map_ else verdict
        table.add_row(f"{zh} {verdict}", str(count))
    if view["rejected"]:
        table.add_row("未受理 rejected", str(view["rejected"]))
    if view["pending"]:
        table.add_row("查验中 pending", str(view["pending"]))
    table.add_row("合计 total", str(view["total"]))
    return table


def _ok(response: httpx.Response) -> dict[str, Any]:
    data: dict[str, Any] = _ok_raw(response).json()
    return data


def _ok_raw(response: httpx.Response) -> httpx.Response:
    if response.status_code >= 400:
        try:
            detail = response.json().get("detail")
        except ValueError:
            detail = response.text[:500]
        if isinstance(detail, dict):
            detail = f"{detail.get('msg_zh', '')} / {detail.get('msg', '')}".strip(" /")
        raise ClientError(f"HTTP {response.status_code}: {detail}")
    return response


def _error(exc: DocumentError) -> dict[str, str]:
    return {"code": exc.code, "message_zh": exc.message_zh, "message_en": exc.message_en}
