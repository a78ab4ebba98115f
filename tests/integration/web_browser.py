"""Debian's chromium (/usr/bin/chromium, installed by `make tools`) driven headless by Playwright, against
the real API; imported by the test_web_* modules. Playwright never downloads a browser here."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from fapiao import topics
from fapiao.domain.invoice_types import invoice_key
from tests.integration.conftest import Org

CHROMIUM = "/usr/bin/chromium"
# As root, without a sandbox; no background connections (this machine's network is closed).
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 860}
expect.set_options(timeout=15_000)

OpenApp = Callable[..., Awaitable[Page]]


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: `make tools` installs it"
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        await launched.close()


def _session_script(api_url: str, org: Org, user: bool = False) -> str:
    """Signed in with the organisation's API key before the app starts (as its 'use an API key' form does),
    or with `user` as its admin (session token: roles, e.g. the analyst's case work)."""
    headers = org.admin if user else org.headers
    me = httpx.get(f"{api_url}/v1/auth/me", headers=headers, timeout=10).json()
    kind, secret = ("token", org.token) if user else ("key", org.api_key)
    stored = json.dumps({"kind": kind, "secret": secret, "expires_at": None, "me": me})
    return f"sessionStorage.setItem('fapiao.session', {json.dumps(stored)});"


@pytest.fixture
async def open_app(browser: Browser, api_url: str) -> AsyncIterator[OpenApp]:
    """`await open_app(route, org=…, viewport=PHONE)`: a fresh browser context on /app/#/<route>; the test
    fails if a page script throws."""
    contexts: list[BrowserContext] = []
    errors: list[str] = []

    async def _open(
        route: str = "", org: Org | None = None, viewport: dict[str, int] = PHONE, user: bool = False
    ) -> Page:
        context = await browser.new_context(
            viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai", accept_downloads=True
        )
        contexts.append(context)
        if org is not None:
            await context.add_init_script(_session_script(api_url, org, user))
        page = await context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        await page.goto(f"{api_url}/app/#/{route}")
        return page

    yield _open
    for context in contexts:
        await context.close()
    assert errors == [], errors


async def publish_invoice(publisher, invoice) -> None:  # type: ignore[no-untyped-def]
    await publisher.publish(
        topics.INVOICES_ISSUED, invoice_key(invoice.invoice_code, invoice.invoice_number), invoice
    )


async def no_horizontal_scroll(page: Page, width: int = PHONE["width"]) -> None:
    scroll_width = await page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{page.url}: {scroll_width} px wide at {width} px"


async def shoot(page: Page, name: str) -> None:
    """With FAPIAO_SCREENSHOTS=1, the page as docs/screenshots/<name>.png (the docs' pictures)."""
    if os.environ.get("FAPIAO_SCREENSHOTS"):
        await page.screenshot(
            path=str(Path(__file__).resolve().parents[2] / "docs" / "screenshots" / f"{name}.png")
        )
