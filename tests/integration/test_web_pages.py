"""The web app's other pages in Debian's chromium: a batch watched to its end and its results downloaded,
an alert arriving live, logging in with 2FA set up in the browser, feedback, and every page at 375 px."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pyotp
from playwright.async_api import expect

from fapiao import topics
from fapiao.domain.invoice_types import invoice_key
from tests.factories import check_of, issued
from tests.integration.conftest import Org
from tests.integration.web_browser import DESKTOP, no_horizontal_scroll, publish_invoice


async def test_a_batch_is_watched_to_its_end_and_its_results_downloaded(open_app, org, publisher) -> None:
    invoices = [issued(number=f"7200000{i}") for i in (1, 2)]
    for inv in invoices:
        await publish_invoice(publisher, inv)
    await asyncio.sleep(0.5)
    rows = [f"{i.invoice_code},{i.invoice_number},2026-11-20,,{i.check_code[-6:]}" for i in invoices]
    sheet = "发票代码,发票号码,开票日期,金额,校验码后6位\n" + "\n".join([*rows, "0110,1,20261120,,1"]) + "\n"
    page = await open_app("batch", org)
    await page.locator("#b-files").set_input_files(
        files=[{"name": "报销单.csv", "mimeType": "text/csv", "buffer": sheet.encode()}]
    )
    await page.get_by_role("button", name="上传并查验").click()
    card = page.locator("#batch-card")
    await expect(card).to_have_attribute("data-finished", "true")
    await expect(page.locator("#b-progress")).to_have_text("全部完成 · 已完成 2 / 2")
    await expect(card).to_contain_text("一致 2")
    await expect(card).to_contain_text("未受理 1 行")
    await no_horizontal_scroll(page)
    async with page.expect_download() as download:
        await page.locator("#b-download-csv").click()
    lines = (await (await download.value).path()).read_text(encoding="utf-8-sig").splitlines()
    assert len(lines) == 4 and invoices[0].invoice_number in lines[1], lines


async def test_an_alert_arrives_on_the_alerts_page(open_app, org, publisher) -> None:
    inv = issued(number="73000001")
    key = invoice_key(inv.invoice_code, inv.invoice_number)
    await publish_invoice(publisher, inv)
    page = await open_app("alerts/live", org)
    await expect(page.locator("#al-status")).to_have_attribute("data-state", "live")
    for requester in ("911101056317066918", "91110108MA01PQRS2K"):  # one invoice, two reimbursements
        await publisher.publish(
            topics.CHECKS_REQUESTED, key, check_of(inv, requester=requester, org_id=org.org_id)
        )
    alert = page.locator("#al-list li.alert", has_text=key)
    await expect(alert).to_contain_text("重复报销")
    await expect(alert.get_by_role("link", name="查看查验结果")).to_be_visible()


async def test_logging_in_with_2fa_set_up_in_the_browser(open_app, make_org: Callable[..., Org]) -> None:
    person = make_org("双因素网页 2FA Web Co.")
    page = await open_app("account")
    await page.get_by_label("邮箱").fill(person.email)
    await page.get_by_label("密码").fill(person.password)
    await page.locator("#login-form").get_by_role("button", name="登录").click()
    await expect(page.locator("#who")).to_contain_text("双因素网页 2FA Web Co.")

    await page.get_by_role("button", name="设置两步验证").click()
    qr = page.get_by_role("img", name="两步验证二维码")
    await expect(qr).to_be_visible()
    assert await qr.evaluate("img => img.naturalWidth") > 100  # a real, scannable PNG
    totp = pyotp.TOTP(await page.locator("#twofa-secret").inner_text())
    await page.get_by_label("动态验证码").fill(totp.now())
    await page.get_by_role("button", name="启用").click()
    await expect(page.locator("#twofa-done li")).to_have_count(10)  # recovery codes, shown once

    await page.get_by_role("button", name="退出登录").click()
    await page.get_by_label("邮箱").fill(person.email)
    await page.get_by_label("密码").fill(person.password)
    await page.locator("#login-form").get_by_role("button", name="登录").click()
    await page.get_by_label("动态验证码").fill("000000" if totp.now() != "000000" else "111111")
    await page.get_by_role("button", name="验证").click()
    await expect(page.locator("#acc-totp-err")).not_to_be_empty()  # the error sits by the field
    next_code = totp.at(datetime.now(UTC) + timedelta(seconds=30))  # the current one enabled 2FA
    await page.get_by_label("动态验证码").fill(next_code)
    await page.get_by_role("button", name="验证").click()
    await expect(page.locator("#who")).to_contain_text("双因素网页 2FA Web Co.")


async def test_feedback_is_sent_and_listed_for_admins(open_app, org, api_url) -> None:
    page = await open_app("account")  # an admin's session, as the login form makes it
    await page.get_by_label("邮箱").fill(org.email)
    await page.get_by_label("密码").fill(org.password)
    await page.locator("#login-form").get_by_role("button", name="登录").click()
    await expect(page.locator("#who")).to_be_visible()
    await page.goto(f"{api_url}/app/#/feedback")
    await page.get_by_role("button", name="提交").click()
    await expect(page.locator("#fb-message-err")).to_have_text("必填")
    await page.get_by_label("类型").select_option("problem")
    await page.get_by_label("内容").fill("批量上传后希望能邮件通知")
    await page.get_by_role("button", name="提交").click()
    await expect(page.locator("#fb-thanks")).to_have_text("感谢您的反馈！")
    await expect(page.locator("#fb-list")).to_contain_text("批量上传后希望能邮件通知")


async def test_every_page_fits_a_phone_and_a_desktop(open_app, org) -> None:
    for viewport in ({"width": 375, "height": 812}, DESKTOP):
        page = await open_app("", org, viewport=viewport)
        for route in ("", "check", "batch", "history", "analytics", "alerts", "account", "keys", "feedback"):
            await page.goto(page.url.split("#")[0] + f"#/{route}")
            await expect(page.locator("#page-title")).to_be_visible()
            await page.wait_for_timeout(300)  # what the page loads (lists, charts) has come in
            await no_horizontal_scroll(page, viewport["width"])
        await expect(page.locator("#nav a")).to_have_count(7)
        sizes = await page.locator("#nav a, #q-go, #lang").evaluate_all(
            "els => els.map(e => [e.getBoundingClientRect().width, e.getBoundingClientRect().height])"
        )
        assert all(w >= 44 and h >= 44 for w, h in sizes), sizes  # touch targets
