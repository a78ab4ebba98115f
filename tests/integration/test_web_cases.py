"""The alert inbox and a case in Debian's chromium, as the organisation's admin (an analyst): filter,
triage two alerts in bulk, take one through review to a decision with a comment, and see its history."""

from __future__ import annotations

from collections.abc import Callable

from playwright.async_api import expect

from fapiao.settings import Settings
from fapiao.warehouse.engine import NativeEngine
from tests.integration.conftest import Org
from tests.integration.test_alert_cases import _alerts
from tests.integration.web_browser import DESKTOP, no_horizontal_scroll, shoot


async def test_an_analyst_triages_the_inbox_and_decides_a_case(
    open_app, settings: Settings, engine: NativeEngine, make_org: Callable[..., Org]
) -> None:
    org = make_org("网页复核 Web Case Co.")
    made = _alerts(settings, engine, org.org_id, 3)
    page = await open_app("alerts", org, DESKTOP, user=True)
    rows = page.locator("#in-list li.record")
    await expect(rows).to_have_count(3)
    await expect(rows.first).to_contain_text("待处理")
    await page.locator("#in-severity").select_option("critical")
    await page.locator("#in-go").click()
    await expect(rows).to_have_count(1)
    await page.locator("#in-severity").select_option("")
    await page.locator("#in-go").click()
    await expect(rows).to_have_count(3)

    for alert in made[1:]:
        await page.locator(f'input.pick[data-alert="{alert.alert_id}"]').check()
    await expect(page.locator("#in-selected")).to_have_text("已选 2 条")
    await shoot(page, "alerts-inbox-desktop")
    await page.locator("#in-bulk-status").select_option("dismissed")
    await page.locator("#in-bulk-apply").click()
    await expect(page.locator("#in-err")).to_have_text("已更新 2 条，0 条未更新")
    await expect(page.locator(f'li[data-alert="{made[1].alert_id}"] .badge.case-dismissed')).to_have_text(
        "误报"
    )

    await page.locator(f'li[data-alert="{made[0].alert_id}"] a').click()
    await expect(page.locator("#cs-status")).to_have_text("待处理")
    await page.locator('#cs-moves button[data-status="in_review"]').click()
    await expect(page.locator("#cs-status")).to_have_text("复核中")
    await page.locator("#cs-comment").fill("销售方已确认开错，作废重开")
    await page.locator("#cs-comment-add").click()
    await expect(page.locator("#cs-history")).to_contain_text("销售方已确认开错")
    await page.locator('#cs-moves button[data-status="confirmed_error"]').click()
    await expect(page.locator("#cs-status")).to_have_text("确认差错")
    await expect(page.locator('#cs-history li[data-kind="status"]')).to_have_count(2)
    await shoot(page, "alert-case-desktop")
    await no_horizontal_scroll(page, DESKTOP["width"])

    rows_ch = engine.execute(
        "SELECT toString(alert_id), decision FROM alert_decisions FINAL WHERE org_id = %(o)s",
        {"o": org.org_id},
    )
    assert dict(rows_ch) == {
        str(made[0].alert_id): "confirmed_error",
        str(made[1].alert_id): "dismissed",
        str(made[2].alert_id): "dismissed",
    }
    await page.goto(page.url.split("#")[0] + "#/alerts")
    table = page.locator("#in-precision-table")
    await expect(table.locator("tr", has_text="重复报销")).to_contain_text("0.0%")  # both dismissed
    await expect(table.locator("tr", has_text="seller_burst")).to_contain_text("100.0%")
