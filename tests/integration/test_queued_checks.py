"""Work queued while processing is down (预约查验 during maintenance): with no worker running the API
still accepts a check (202) and the web app says it is queued; when the worker starts the check is
answered, the web app tells the user (an in-app notice on another page), the organisation's webhook
receives the result and its admin gets a mail. Real Kafka, ClickHouse, HTTP receiver and SMTP server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, expect

from fapiao.bus import Publisher
from fapiao.settings import Settings
from tests.factories import issued
from tests.integration.conftest import _env, private_stack, register_org
from tests.integration.processes import cli_process, free_port, wait_for_line, wait_until_ok
from tests.integration.test_webhooks import subscribe, webhooks_env
from tests.integration.web_browser import DESKTOP, _session_script, publish_invoice, shoot
from tests.smtp_server import Mailbox
from tests.webhook_receiver import receiver


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Settings]:
    with private_stack("queued", tmp_path) as (made, _engine):
        yield made


async def test_a_check_made_while_processing_is_down_is_answered_and_announced(
    settings: Settings, stack: Settings, mailbox: Mailbox, browser: Browser, tmp_path: Path
) -> None:
    with receiver() as box:
        own = settings.model_copy(
            update={
                "topic_prefix": stack.topic_prefix,
                "clickhouse_database": stack.clickhouse_database,
                "data_dir": tmp_path / "worker",
                "accounts_url": f"sqlite:///{tmp_path / 'accounts.db'}",
            }
        )
        port = free_port()
        api_url = f"http://127.0.0.1:{port}"
        api_log, hooks_log = tmp_path / "api.log", tmp_path / "webhooks.log"
        with (
            cli_process(["api", "--port", str(port)], _env(own), api_log, stop_seconds=20) as api,
            cli_process(["webhooks"], webhooks_env(own), hooks_log, stop_seconds=10) as hooks,
        ):
            wait_until_ok(api, api_log, f"{api_url}/readyz")
            wait_for_line(hooks, hooks_log, "webhooks_ready", 60)
            org = register_org(api_url, "排队企业 Queued Co.")
            subscribe(api_url, org, box.url("/ok"), ["result", "follow_up"])
            mail = httpx.post(
                f"{api_url}/v1/webhooks", headers=org.admin, json={"email": org.email, "events": ["result"]}
            )
            assert mail.status_code == 201, mail.text

            inv = issued(number="82000001")
            publisher = Publisher(own)
            await publisher.start()
            await publish_invoice(publisher, inv)
            await publisher.stop()

            # no worker: the web app's check is accepted and said to be queued
            context = await browser.new_context(viewport=DESKTOP, locale="zh-CN", timezone_id="Asia/Shanghai")
            await context.add_init_script(_session_script(api_url, org))
            page = await context.new_page()
            await page.goto(f"{api_url}/app/#/")
            search = page.get_by_role("searchbox")
            await search.fill(f"{inv.invoice_code} {inv.invoice_number}")
            await search.press("Enter")
            await page.get_by_label("开票日期").fill("2026-11-20")
            await page.locator("#f-fourth").fill(inv.check_code[-6:])
            await page.get_by_role("button", name="查 验").click()
            card = page.locator("#verdict-card")
            await expect(card).to_have_attribute("data-status", "pending", timeout=20_000)
            await expect(page.locator("#queued-note")).to_contain_text("恢复后将自动查验")
            await expect(page.locator("#verdict-help")).to_have_attribute("href", "#/help/queued")
            await shoot(page, "check-queued-desktop")
            awaiting = await page.evaluate("JSON.parse(sessionStorage.getItem('fapiao.awaiting'))")
            [check_id] = [a["id"] for a in awaiting]
            await page.goto(f"{api_url}/app/#/history")  # the user moves on
            assert box.at("/ok") == []

            # processing resumes: the answer arrives and everyone is told
            worker_log = tmp_path / "worker.log"
            with cli_process(["worker"], _env(own), worker_log) as worker:
                wait_for_line(worker, worker_log, "Worker ready", 120)
                toast = page.locator("#toast")
                await expect(toast).to_contain_text("查验结果已到达", timeout=60_000)
                await expect(toast).to_have_attribute("data-check", check_id)
                await shoot(page, "check-answered-notice-desktop")
                got = box.wait_for("/ok", 1, timeout=30)
                pushed = json.loads(got[0].body)
                assert pushed["data"]["check_id"] == check_id and pushed["type"] == "result"
                message = mailbox.wait_for(org.email, count=1, timeout=30)
                assert "查验结果" in message["Subject"] and check_id in message.get_content()
                await toast.get_by_role("link", name="查看结果").click()
                await expect(page.locator("#verdict-card")).to_have_attribute("data-verdict", "consistent")
                await page.locator("#verdict-help").click()  # the verdict card links to its 常见问题 answer
                await expect(page.locator("#kb-title")).to_have_text("查验结果“一致”是什么意思？")
            await context.close()
