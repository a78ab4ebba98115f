"""HTTP models the web app's forms use: what a pasted value or a dropped document fills in, feedback."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from fapiao.domain.check_form import CheckForm

Category = Literal["suggestion", "problem", "question", "praise"]


class CheckFormOut(BaseModel):
    """The fields a check of this value needs, and what it already fills in."""

    kind: str = Field(
        description="invoice_code, invoice_number, code_and_number, digital_invoice_number, "
        "qr_payload, tax_id or unknown"
    )
    valid: bool
    errors: list[str]
    digital: bool = Field(description="数电: the form has no 发票代码")
    fourth_field: str | None = Field(
        description="check_code_last6, amount_ex_tax, total_with_tax … or null "
        "when the type can't be told yet"
    )
    fourth_label_zh: str | None
    fourth_label_en: str | None
    fplx: str | None
    type_name_zh: str | None
    type_name_en: str | None
    values: dict[str, str] = Field(
        description="prefill: invoice_code, invoice_number, issue_date, amount, check_code"
    )

    @classmethod
    def of(cls, form: CheckForm) -> CheckFormOut:
        fourth = form.fourth_field
        return cls(
            kind=form.kind,
            valid=form.valid,
            errors=list(form.errors),
            digital=form.digital,
            fourth_field=fourth.value if fourth else None,
            fourth_label_zh=fourth.label_zh if fourth else None,
            fourth_label_en=fourth.label_en if fourth else None,
            fplx=form.fplx,
            type_name_zh=form.type_name_zh,
            type_name_en=form.type_name_en,
            values=form.values,
        )


class ProblemOut(BaseModel):
    code: str
    msg: str
    msg_zh: str


class DocumentFormOut(BaseModel):
    """What a dropped e-invoice document fills in; `problem` says why it can't be checked as it is."""

    file: str
    format: str
    confidence: float
    form: CheckFormOut | None
    problem: ProblemOut | None = None
    review_id: str | None = Field(
        default=None, description="the document went to the review queue (人工复核): /v1/reviews/{review_id}"
    )


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    category: Category = "suggestion"
    message: str = Field(min_length=1, max_length=4000)
    contact: str = Field(default="", max_length=200, description="how to reach you, if you want an answer")
    page: str = Field(default="", max_length=200, description="where in the app")


class FeedbackOut(BaseModel):
    id: int
    author: str
    category: str
    message: str
    contact: str
    page: str
    created_at: datetime


class FeedbacksOut(BaseModel):
    data: list[FeedbackOut]
    count: int
