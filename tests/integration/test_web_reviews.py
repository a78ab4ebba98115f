"""人工复核 in Debian's chromium, as the organisation's admin (an analyst): a dropped PDF whose printed amount
contradicts its QR code goes to the review queue; the review page shows the rendered page beside what
each source read, refuses a malformed amount on its field, and sends the corrected check as the reviewer."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from playwright.async_api import expect

from schemas.events import InvoiceIssued
from tests.integration.conftest import Org
from tests.integration.test_reviews import (  # noqa: F401 (registered: the module's invoices)
    doctored_pdf,
    history_row,
    registered,
)
from tests.integration.web_browser import DESKTOP, PHONE, no_horizontal_scroll, shoot


async def test_an_analyst_corrects_a_disputed_document_beside_its_page(
    open_app,
    api_url: str,
    registered: dict[str, InvoiceIssued],  # noqa: F811
    make_org: Callable[..., Org],
) -> None:
    genuine = registered["01"]
    org = make_org("网页复核 Web Review Co.")
    page = await open_app("check", org, DESKTOP, user=True)
    await page.locator("#q-file-input").set_input_files(
        {"name": "报销-改过.pdf", "mimeType": "application/pdf", "buffer": doctored_pdf(genuine)}
    )
    await expect(page.locator("#doc-review")).to_be_visible()
    await page.locator("#doc-review").click()

    await expect(page.locator("#rv-page")).to_be_visible()
    assert await page.locator("#rv-page").evaluate("img => img.naturalWidth") > 500
    amount = page.locator('#rv-readings dd[data-field="amount"]')
    await expect(amount.locator('[data-source="qr"]')).to_contain_text(f"{genuine.amount:.2f}")
    await expect(amount.locator('[data-source="text_layer"]')).to_contain_text(f"{genuine.amount + 1000:.2f}")
    await expect(page.locator("#rv-amount")).to_have_value(f"{genuine.amount:.2f}")
    await shoot(page, "review-desktop")

    await page.locator("#rv-amount").fill("12,3x")
    await page.locator("#rv-submit").click()
    await expect(page.locator("#rv-amount-err")).not_to_be_empty()
    await expect(page.locator("#rv-msg")).to_have_text("请改正标出的字段")
    await page.locator("#rv-amount").fill(f"{genuine.amount:.2f}")
    await page.locator("#rv-submit").click()
    await expect(page.locator("#rv-done")).to_contain_text("复核并提交")
    await expect(page.locator('#rv-history li[data-kind="submitted"]')).to_have_count(1)
    await page.locator("#rv-check").click()
    await expect(page.locator("#verdict-title")).to_have_text("查验结果一致", timeout=30_000)

    async with httpx.AsyncClient(base_url=api_url, timeout=30, headers=org.admin) as client:
        await history_row(client, page.url.split("#/check/")[1])  # the page reads what the sink stored
    await page.goto(page.url.split("#")[0] + "#/history")  # the check is the reviewer's, marked reviewed
    await expect(page.locator("#h-list .badge.reviewed")).to_contain_text("人工复核 · member-")
    await page.goto(page.url.split("#")[0] + "#/reviews")
    await page.locator("#rv-status").select_option("submitted")
    await page.locator("#rv-go").click()
    await expect(page.locator("#rv-list li.record")).to_have_count(1)
    await expect(page.locator("#rv-list li.record")).to_contain_text("报销-改过.pdf")


async def test_the_queue_and_a_row_review_fit_a_phone(
    open_app,
    registered: dict[str, InvoiceIssued],  # noqa: F811
    make_org: Callable[..., Org],
) -> None:
    org = make_org("手机复核 Phone Review Co.")
    typo = registered["32"]
    row = f",{typo.invoice_number[:-1]}O,{typo.issue_date},{typo.total},"  # an O typed for a 0
    sheet = f"发票代码,发票号码,开票日期,金额,校验码后6位\n{row}\n"
    page = await open_app("batch", org, PHONE, user=True)
    await page.locator("#b-files").set_input_files(
        {"name": "报销.csv", "mimeType": "text/csv", "buffer": sheet.encode()}
    )
    await page.locator("#b-upload").click()
    await page.locator("#b-review").click()
    rows = page.locator("#rv-list li.record")
    await expect(rows).to_have_count(1)
    await shoot(page, "reviews-phone")
    await no_horizontal_scroll(page)
    await rows.first.locator("a").click()
    await expect(page.locator("#rv-invoice_number")).to_have_value(f"{typo.invoice_number[:-1]}O")
    await page.locator("#rv-invoice_number").fill(typo.invoice_number)
    await page.locator("#rv-submit").click()
    await expect(page.locator("#rv-done")).to_be_visible()
    await no_horizontal_scroll(page)
    await page.locator("#rv-batch-link").click()
    await expect(page.locator("#batch-card")).to_have_attribute("data-finished", "true", timeout=30_000)
    await expect(page.locator("#batch-card")).not_to_contain_text("未受理")
