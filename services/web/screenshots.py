"""Screenshots of the web app's main pages at 375 px and 1280 px, for the README (docs/screenshots/).

    make run
    .venv/bin/python -m services.web.screenshots --credentials .local/demo-credentials.json

Logs in as the demo admin in Debian's chromium (Playwright, never a downloaded browser), checks a genuine
demo invoice, uploads the batch template, waits for a live alert, and saves small palette PNGs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import tempfile
from pathlib import Path

from PIL import Image
from playwright.sync_api import Page, ViewportSize, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from fapiao.demo import DemoFeed
from fapiao.settings import Settings
from schemas.events import CheckRequested, InvoiceStatus
from services.demo_feed import feed_start

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--lang=zh-CN",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
FIELDS = {"invoice_code", "invoice_number", "issue_date", "amount", "check_code"}


def demo_checks(count: int) -> tuple[dict[str, str], list[dict[str, str]]]:
    """From `make run`'s demo backlog (seed 2026, 3,000 invoices): a genuine check of a normal paper
    invoice, and `count` checks of most labels for a batch."""
    feed = DemoFeed(2026, feed_start(Settings()))
    feed.issue(3000)
    feed.status_changes(0.04)
    single: dict[str, str] | None = None
    rows: list[dict[str, str]] = []
    events = feed.checks(400)
    random.shuffle(events)  # another sample each run: an invoice is checked at most 5 times a day
    for event in events:
        if not isinstance(event.value, CheckRequested):
            continue
        body = event.value.model_dump(mode="json", include=FIELDS, exclude_none=True)
        normal = feed.status(event.key) is InvoiceStatus.NORMAL
        if single is None and event.label == "genuine" and normal and body.get("check_code"):
            single = body
        elif len(rows) < count and event.label != "fake":  # a fake may be held for the sync window
            rows.append(body)
    assert single is not None, "no genuine paper invoice in the demo sample"
    return single, rows


def _csv(rows: list[dict[str, str]], folder: Path) -> Path:
    lines = ["发票代码,发票号码,开票日期,金额,校验码后6位"]
    lines += [",".join(r.get(k, "") for k in ("invoice_code", "invoice_number", "issue_date", "amount",
                                              "check_code")) for r in rows]  # fmt: skip
    path = folder / "报销单-2026年11月.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


VIEWPORTS: dict[str, ViewportSize] = {
    "phone": {"width": 375, "height": 812},
    "desktop": {"width": 1280, "height": 860},
}


def _login(page: Page, url: str, credentials: dict[str, str]) -> None:
    page.goto(f"{url}/app/#/account")
    page.get_by_label("邮箱").fill(credentials["email"])
    page.get_by_label("密码").fill(credentials["password"])
    page.locator("#login-form button[type=submit]").click()
    page.wait_for_selector("#who")


def _check(page: Page, url: str, body: dict[str, str]) -> None:
    page.goto(f"{url}/app/#/check")
    search = page.get_by_role("searchbox")
    search.fill(" ".join(v for v in (body.get("invoice_code"), body["invoice_number"]) if v))
    search.press("Enter")
    page.wait_for_selector("#type-line:not(:empty)")
    page.get_by_label("开票日期").fill(body["issue_date"])
    page.locator("#f-fourth").fill(body.get("amount") or body.get("check_code") or "")
    page.locator("#f-submit").click()
    page.wait_for_selector("#verdict-card[data-status=done]")
    page.wait_for_timeout(800)  # the smooth scroll to the card
    if page.viewport_size and page.viewport_size["width"] >= 900:
        page.evaluate("window.scrollTo(0, 0)")  # the form and the card side by side


def _batch(page: Page, url: str, sheet: Path) -> None:
    page.goto(f"{url}/app/#/batch")
    page.locator("#b-files").set_input_files(sheet)
    page.locator("#b-upload").click()
    page.wait_for_selector("#batch-card[data-finished=true]", timeout=60_000)


def _analytics(page: Page, url: str) -> None:
    page.goto(f"{url}/app/#/analytics")
    page.wait_for_selector("#a-tiles")
    page.wait_for_timeout(4000)  # the charts are drawn by the server one after another


def _alerts(page: Page, url: str) -> None:
    page.goto(f"{url}/app/#/alerts")
    with contextlib.suppress(PlaywrightTimeout):  # no alert came: the empty page is what there is
        page.wait_for_selector("#al-list li.alert", timeout=30_000)  # the demo feed raises some


def _account(page: Page, url: str) -> None:
    page.goto(f"{url}/app/#/account")
    page.locator("#twofa-start").click()
    page.wait_for_selector("#twofa-qr")


def shoot(url: str, credentials: dict[str, str], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    body, rows = demo_checks(12)
    sheet = _csv(rows, Path(tempfile.mkdtemp()))
    steps = {
        "home": lambda p: p.goto(f"{url}/app/#/"),
        "check": lambda p: _check(p, url, body),
        "batch": lambda p: _batch(p, url, sheet),
        "history": lambda p: (p.goto(f"{url}/app/#/history"), p.wait_for_selector("#h-list li")),
        "analytics": lambda p: _analytics(p, url),
        "alerts": lambda p: _alerts(p, url),
        "account": lambda p: _account(p, url),
    }
    saved: list[Path] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for device, viewport in VIEWPORTS.items():
            context = browser.new_context(
                viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai", accept_downloads=True
            )
            page = context.new_page()
            _login(page, url, credentials)
            for name, step in steps.items():
                step(page)
                path = out / f"{name}-{device}.png"
                page.screenshot(path=path)
                _shrink(path)
                saved.append(path)
            context.close()
        browser.close()
    return saved


def _shrink(path: Path) -> None:
    """A 128-colour palette PNG: a few dozen KB instead of a few hundred."""
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--credentials", type=Path, default=Path(".local/demo-credentials.json"))
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = parser.parse_args()
    for path in shoot(args.url, json.loads(args.credentials.read_text()), args.out):
        print(f"{path} ({path.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
