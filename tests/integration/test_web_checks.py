"""The web app's check, in Debian's chromium at 375 px: paste, fill what the type needs, read the verdict;
a held check that turns final by itself; a check entered offline, queued and verified once back online;
a QR string and an e-invoice PDF filling the form."""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

from playwright.async_api import Page, expect

from fapiao.demo.documents import invoice_pdf, qr_text, sample_invoices
from tests.factories import issued
from tests.integration.web_browser import no_horizontal_scroll, publish_invoice

# resolves once the service worker controls the page (wait_for_function would need 'unsafe-eval')
CONTROLLED = """navigator.serviceWorker.ready.then(() => navigator.serviceWorker.controller || new Promise(
  (done) => navigator.serviceWorker.addEventListener("controllerchange", done))).then(() => true)"""


async def _fill_and_check(page: Page, date: str, fourth: str) -> None:
    await page.get_by_label("开票日期").fill(date)
    await page.locator("#f-fourth").fill(fourth)
    await page.get_by_role("button", name="查 验").click()


async def test_a_genuine_and_a_tampered_invoice_get_their_verdicts(
    open_app, org, publisher, tmp_path
) -> None:
    inv = issued(number="71000001")
    await publish_invoice(publisher, inv)
    await asyncio.sleep(0.5)
    page = await open_app("", org)
    search = page.get_by_role("searchbox")
    await search.fill(f"{inv.invoice_code} {inv.invoice_number}")
    await search.press("Enter")
    # the server told the type: an 增值税电子普通发票 asks for 校验码后6位, not an amount
    await expect(page.locator("#type-line")).to_have_text("增值税电子普通发票")
    await expect(page.locator("#f-fourth-label")).to_have_text("校验码后6位")
    await expect(page.get_by_label("发票号码")).to_have_value(inv.invoice_number)
    await _fill_and_check(page, "2026-11-20", inv.check_code[-6:])

    card = page.locator("#verdict-card")
    await expect(card).to_have_attribute("data-verdict", "consistent")
    await expect(page.locator("#verdict-title")).to_have_text("查验结果一致")
    await expect(page.locator("#check-count")).to_have_text("第 1 次查验")
    await expect(card).to_contain_text("北京海淀示例科技有限公司")  # the invoice face
    await expect(card).to_contain_text("¥113.00")
    await no_horizontal_scroll(page)
    await page.screenshot(path=tmp_path / "verdict-375.png")

    await page.locator("#f-fourth").fill("999999")  # tampered: another check code
    await page.get_by_role("button", name="查 验").click()
    await expect(card).to_have_attribute("data-verdict", "inconsistent")
    await expect(page.locator("#verdict-title")).to_have_text("查验结果不一致")
    await expect(card).to_contain_text("校验码")  # the field that differs
    await expect(page.locator("#check-count")).to_have_text("第 2 次查验")

    await page.get_by_role("button", name="English").click()
    await expect(page.locator("#verdict-title")).to_have_text("the invoice does not match the register")


async def test_a_held_check_updates_by_itself_when_the_invoice_arrives(open_app, org, publisher) -> None:
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    inv = issued(number="71000002", issue_date=today)  # issued today, not in the register yet
    page = await open_app("check", org)
    await page.get_by_label("发票代码").fill(inv.invoice_code)
    await page.get_by_label("发票号码").fill(inv.invoice_number)
    await expect(page.locator("#f-fourth-label")).to_have_text("校验码后6位")
    await _fill_and_check(page, today.isoformat(), inv.check_code[-6:])
    card = page.locator("#verdict-card")
    await expect(card).to_have_attribute("data-status", "pending_sync")
    await expect(card).to_contain_text("到达后自动更新")

    await publish_invoice(publisher, inv)
    await expect(card).to_have_attribute("data-verdict", "consistent")  # no click: the card followed it
    await expect(card).to_contain_text("结果已更新")


async def test_a_check_entered_offline_is_queued_and_verified_when_back_online(
    open_app, org, publisher
) -> None:
    inv = issued(number="71000003")
    await publish_invoice(publisher, inv)
    page = await open_app("check", org)
    await page.evaluate(CONTROLLED)
    await page.context.set_offline(True)
    await page.reload()  # the app shell comes from the service worker's cache
    await expect(page.locator("#offline-banner")).to_be_visible()
    await page.get_by_label("发票代码").fill(inv.invoice_code)
    await page.get_by_label("发票号码").fill(inv.invoice_number)
    await page.get_by_label("第四项").select_option("check_code")
    await _fill_and_check(page, "2026-11-20", inv.check_code[-6:])
    item = page.locator(".queue-item").first
    await expect(item).to_have_attribute("data-state", "queued")
    await expect(item).to_contain_text("等待网络")

    await page.context.set_offline(False)
    await expect(item).to_have_attribute("data-state", "done")
    await expect(item).to_contain_text("查验结果一致")
    await item.get_by_role("link", name="查看结果").click()
    await expect(page.locator("#verdict-title")).to_have_text("查验结果一致")


async def test_a_pasted_qr_code_and_a_chosen_pdf_fill_the_form(open_app, org, publisher) -> None:
    invoices = sample_invoices(seed=29)
    paper, digital = invoices["10"], invoices["32"]
    for inv in (paper, digital):
        await publish_invoice(publisher, inv)
    await asyncio.sleep(0.5)
    page = await open_app("", org)
    search = page.get_by_role("searchbox")
    await search.fill(qr_text(paper))
    await search.press("Enter")
    await expect(page.get_by_label("校验码后6位")).to_have_value(paper.check_code[-6:])
    await expect(page.get_by_label("开票日期")).to_have_value(paper.issue_date.isoformat())
    await page.get_by_role("button", name="查 验").click()
    await expect(page.locator("#verdict-card")).to_have_attribute("data-verdict", "consistent")

    await page.locator("#q-file-input").set_input_files(
        files=[{"name": "发票.pdf", "mimeType": "application/pdf", "buffer": invoice_pdf(digital)}]
    )
    await expect(page.locator("#form-note")).to_contain_text("已从 发票.pdf 读取")
    await expect(page.locator("#f-code-field")).to_be_hidden()  # 数电: no 发票代码
    await expect(page.get_by_label("价税合计")).to_have_value(f"{digital.total:.2f}")
    await page.get_by_role("button", name="查 验").click()
    await expect(page.locator("#verdict-card")).to_contain_text(digital.invoice_number)
    await expect(page.locator("#verdict-card")).to_have_attribute("data-verdict", "consistent")
