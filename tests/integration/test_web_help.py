"""常见问题 in Debian's chromium: searched in Chinese, an answer opened, the same answer in English."""

from __future__ import annotations

from playwright.async_api import expect

from tests.integration.web_browser import no_horizontal_scroll, shoot


async def test_the_knowledge_base_is_searched_and_read(open_app) -> None:
    page = await open_app("help")  # help needs no login
    await page.locator("#kb-q").fill("红冲")
    await page.locator("#kb-go").click()
    first = page.locator("#kb-list li").first
    await expect(first).to_have_attribute("data-kb", "void-and-red")
    await first.locator("a").click()
    await expect(page.locator("#kb-title")).to_have_text("作废和红冲是什么？")
    await expect(page.locator("#kb-answer li").first).to_contain_text("作废")
    await no_horizontal_scroll(page)
    await shoot(page, "help-phone")
    await page.locator("#lang").click()
    await expect(page.locator("#kb-title")).to_have_text("Voided and red-flushed (作废, 红冲)")
