"""The results file's lines: rejected, pending and decided rows, in the header's column order."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from fapiao.batches.export import HEADER, result_line

ITEM: dict[str, Any] = {
    "batch_row": 7,
    "line": 8,
    "source_name": "",
    "check_id": "c0ffee00-0000-4000-8000-000000000007",
    "invoice_code": "011002300111",
    "invoice_number": "12345678",
    "issue_date": "2026-11-20",
    "amount": "",
    "check_code": "567890",
    "problem_fields": [],
    "problem_messages_zh": [],
    "problem_messages_en": [],
}
RESULT: dict[str, Any] = {
    "verdict": "consistent",
    "message_zh": "查验结果一致",
    "message_en": "the invoice matches the register",
    "mismatched_fields": [],
    "check_count": 1,
    "invoice_status": "normal",
    "seller_name": "卖方",
    "seller_tax_id": "9111010829141777X4",
    "buyer_name": "买方",
    "buyer_tax_id": "",
    "amount": Decimal("100.00"),
    "tax": Decimal("13.00"),
    "total": Decimal("113.00"),
}


def _line(**changes: Any) -> dict[str, Any]:
    return dict(zip(HEADER, result_line({**ITEM, **changes}), strict=True))


@pytest.mark.parametrize(
    ("changes", "status", "verdict"),
    [
        ({"result": RESULT}, "已完成/done", "查验结果一致/consistent"),
        ({"result": None}, "查验中/pending", ""),
        ({"result": {**RESULT, "verdict": "pending_sync", "invoice_status": ""}}, "查验中/pending", None),
        (
            {
                "check_id": "",
                "result": None,
                "problem_fields": ["issue_date"],
                "problem_messages_zh": ["日期格式无法识别"],
                "problem_messages_en": ["unrecognised date"],
            },
            "未受理/rejected",
            "",
        ),
    ],
)
def test_result_lines(changes: dict[str, Any], status: str, verdict: str | None) -> None:
    line = _line(**changes)
    assert line["序号/row"] == 7 and line["行号/line"] == 8 and line["发票号码/invoice_number"] == "12345678"
    assert line["状态/status"] == status
    if verdict is not None:
        assert line["查验结果/verdict"] == verdict


def test_a_decided_line_carries_the_invoice_face_and_a_rejected_one_its_problems() -> None:
    done = _line(result=RESULT)
    assert (done["销售方/seller_name"], done["价税合计/total"], done["查验次数/check_count"]) == (
        "卖方",
        "113.00",
        1,
    )
    rejected = _line(
        check_id="",
        result=None,
        problem_fields=["issue_date"],
        problem_messages_zh=["日期格式无法识别"],
        problem_messages_en=["unrecognised date"],
    )
    assert rejected["问题/problems"] == "issue_date: 日期格式无法识别 (unrecognised date)"
