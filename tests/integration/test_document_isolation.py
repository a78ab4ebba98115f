"""Hostile documents against the real API (issue 16, item 6): refused quickly with a clear error, read
outside the API process (its memory stays where it was), and another organisation's requests stay fast
while one organisation uploads decompression bombs."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from tests.hostile_documents import big_page_pdf, inflating_pdf
from tests.integration.conftest import Org

REAL = Path(__file__).parent.parent / "fixtures" / "real"


def _listening_pid(port: int) -> int:
    """The process with a listening TCP socket on 127.0.0.1:`port` (Linux /proc)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, state, inode = fields[1], fields[3], fields[9]
        if state == "0A" and int(local.split(":")[1], 16) == port:
            inodes.add(f"socket:[{inode}]")
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if any(str(fd.readlink()) in inodes for fd in (proc / "fd").iterdir()):
                return int(proc.name)
        except OSError:
            continue
    raise AssertionError(f"nothing listens on port {port}")


def _rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))) / 1024


def _extract(client: httpx.Client, org: Org, name: str, data: bytes) -> httpx.Response:
    return client.post("/v1/documents/extract", headers=org.headers, files={"file": (name, data)})


def test_a_14400_pt_page_is_refused_at_once_with_a_clear_error(api_url: str, org: Org) -> None:
    with httpx.Client(base_url=api_url, timeout=60) as client:
        _extract(client, org, "warm.ofd", (REAL / "older-attachment.ofd").read_bytes())  # workers started
        started = time.monotonic()
        refused = _extract(client, org, "big.pdf", big_page_pdf())
        elapsed = time.monotonic() - started
    assert refused.status_code == 422
    detail = refused.json()["detail"]
    assert detail["code"] == "pdf_page_too_large" and detail["msg_zh"] and detail["msg"]
    assert elapsed < 5.0  # 36 s when the page was rendered


def test_bombs_of_one_organisation_touch_neither_the_api_nor_another_organisation(
    api_url: str, make_org: Callable[..., Org]
) -> None:
    attacker, bystander = make_org("攻击者 Attacker Co."), make_org("无辜企业 Bystander Co.")
    pid = _listening_pid(urlsplit(api_url).port or 80)
    invoice = (REAL / "sd-template-tags-1.ofd").read_bytes()
    bomb = inflating_pdf(1024)  # 1 MiB upload, 1 GiB inflated; read in-process it took 35 s and 3.1 GiB
    with httpx.Client(base_url=api_url, timeout=120) as client:
        assert _extract(client, bystander, "warm.ofd", invoice).status_code == 200
        baseline_rss = _rss_mib(pid)
        answers: list[httpx.Response] = []
        peak = [baseline_rss]
        attacking = threading.Event()

        def attack() -> None:
            with httpx.Client(base_url=api_url, timeout=120) as own:
                answers.append(_extract(own, attacker, "bomb.pdf", bomb))

        def watch() -> None:
            while attacking.is_set():
                peak.append(_rss_mib(pid))
                time.sleep(0.1)

        attacking.set()
        attackers = [threading.Thread(target=attack) for _ in range(2)]
        watcher = threading.Thread(target=watch)
        for thread in (*attackers, watcher):
            thread.start()
        time.sleep(1.0)  # the bombs are being inflated by now
        latencies = []
        for _ in range(20):
            started = time.monotonic()
            asked = client.get("/v1/inspect", params={"value": "011002300111"}, headers=bystander.headers)
            latencies.append(time.monotonic() - started)
            assert asked.status_code == 200
        started = time.monotonic()
        read = _extract(client, bystander, "mine.ofd", invoice)
        bystander_document = time.monotonic() - started
        for thread in attackers:
            thread.join(120)
        attacking.clear()
        watcher.join(5)
    assert [a.status_code for a in answers] == [422, 422]
    assert {a.json()["detail"]["code"] for a in answers} == {"document_too_complex"}
    assert (
        read.status_code == 200 and read.json()["form"]["values"]["invoice_number"] == "24112000000048542163"
    )
    # the API holds the uploads (1 MiB each) and waits; the inflating happens in its workers
    assert max(peak) - baseline_rss < 150, (baseline_rss, max(peak))
    # another organisation is served as usual: its own document gets a worker of its own, its requests
    # do not wait behind the bombs (before: ~100x slower, seconds per request)
    assert bystander_document < 20.0
    assert statistics.median(latencies) < 1.0 and max(latencies) < 3.0, latencies
