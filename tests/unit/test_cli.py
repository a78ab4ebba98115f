from __future__ import annotations

import json

from typer.testing import CliRunner

from services.cli import app

runner = CliRunner()


def test_inspect_prints_one_json_object_per_value() -> None:
    done = runner.invoke(app, ["inspect", "011002300111", "9111010829141777X4", "12345"])
    assert done.exit_code == 0, done.output
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["kind"] for line in lines] == ["invoice_code", "tax_id", "unknown"]
    assert lines[0]["fplx"] == "10" and lines[0]["region_name"] == "北京"
    assert lines[1]["division_name"] == "海淀" and lines[2]["valid"] is False


def test_every_operation_is_a_command() -> None:
    done = runner.invoke(app, ["--help"])
    assert done.exit_code == 0
    for command in ("kafka", "db", "worker", "api", "demo", "inspect"):
        assert command in done.stdout
