"""What a reviewer's correction must satisfy before it is sent as a check (pure).

A correction is the five fields of a check, typed by a person looking at the page or the row; it is
held to exactly the rules of a spreadsheet row (`fapiao.batches.row_checks.parse_row`: digits only,
a date the batch template accepts, the fourth field the invoice type asks for, the request rules),
so a corrected row and an uploaded row cannot disagree about what is valid.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from fapiao.batches.row_checks import RowOutcome, parse_row
from fapiao.batches.sheets import SheetRow

CORRECTED_FIELDS: tuple[str, ...] = ("invoice_code", "invoice_number", "issue_date", "amount", "check_code")


def corrected_check(values: Mapping[str, str | None], today: date) -> RowOutcome:
    """The check the corrected fields ask for, or every problem with them (each naming its field)."""
    cells = {name: (values.get(name) or "").strip() for name in CORRECTED_FIELDS}
    return parse_row(SheetRow(0, {name: value for name, value in cells.items() if value}), today)


def proposed_values(fields: Mapping[str, str]) -> dict[str, str]:
    """The reviewer's starting point: what was read (or typed in the row), for the fields a check uses."""
    return {name: fields[name] for name in CORRECTED_FIELDS if fields.get(name)}
