"""The batch results file: one line per input row or document, in input order, with its verdict.

Pure: `result_line` turns an item (with its newest result, or none yet) into the file's cells; the
API pages through the warehouse and writes CSV or XLSX from these lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fapiao.domain.verification import MESSAGES
from schemas.events import Verdict

HEADER: tuple[str, ...] = (
    "序号/row",
    "行号/line",
    "文件/file",
    "发票代码/invoice_code",
    "发票号码/invoice_number",
    "开票日期/issue_date",
    "金额/amount",
    "校验码后6位/check_code",
    "状态/status",
    "查验结果/verdict",
    "结果说明/message_zh",
    "message_en",
    "不一致字段/mismatched_fields",
    "查验次数/check_count",
    "发票状态/invoice_status",
    "销售方/seller_name",
    "销售方税号/seller_tax_id",
    "购买方/buyer_name",
    "购买方税号/buyer_tax_id",
    "票面金额/invoice_amount",
    "税额/tax",
    "价税合计/total",
    "问题/problems",
)
STATUS_ZH = {"rejected": "未受理", "pending": "查验中", "done": "已完成"}


def result_line(item: Mapping[str, Any]) -> list[Any]:
    """The cells of one item (a merged `batch_items` row with `result`: its newest result or None)."""
    result = item.get("result")
    problems = "; ".join(
        f"{f}: {zh} ({en})"
        for f, zh, en in zip(
            item["problem_fields"], item["problem_messages_zh"], item["problem_messages_en"], strict=False
        )
    )
    if not item["check_id"]:
        status = "rejected"
    elif result is None or result["verdict"] == Verdict.PENDING_SYNC.value:
        status = "pending"
    else:
        status = "done"
    cells: list[Any] = [
        int(item["batch_row"]),
        int(item["line"]) or "",
        item["source_name"],
        item["invoice_code"],
        item["invoice_number"],
        item["issue_date"],
        item["amount"],
        item["check_code"],
        f"{STATUS_ZH[status]}/{status}",
    ]
    if result is None:
        return [*cells, *([""] * (len(HEADER) - len(cells) - 1)), problems]
    verdict = Verdict(result["verdict"])
    has_face = bool(result["invoice_status"])
    return [
        *cells,
        f"{MESSAGES[verdict][0]}/{verdict.value}",
        result["message_zh"],
        result["message_en"],
        ",".join(result["mismatched_fields"]),
        int(result["check_count"]),
        result["invoice_status"],
        result["seller_name"],
        result["seller_tax_id"],
        result["buyer_name"],
        result["buyer_tax_id"],
        str(result["amount"]) if has_face else "",
        str(result["tax"]) if has_face else "",
        str(result["total"]) if has_face else "",
        problems,
    ]
