"""The snippet in docs/events.md that opens sealed fields works, on the committed sealed example."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import SecretStr

from fapiao.crypto.keys import DEV_KEY_ID, CryptoKeys
from fapiao.crypto.sm3 import hmac_sm3
from fapiao.settings import PLACEHOLDER_SECRET, Settings

ROOT = Path(__file__).resolve().parents[2]


def test_the_documented_decryption_opens_the_sealed_example(capsys) -> None:  # type: ignore[no-untyped-def]
    doc = (ROOT / "docs/events.md").read_text("utf-8")
    section = doc.split("## Sealed fields: opening them", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]
    dev_key = hmac_sm3(PLACEHOLDER_SECRET.encode(), b"fapiao sm4 development key")[
        :16
    ]  # as keys.py derives it
    settings = Settings(_env_file=None, secret_key=SecretStr(PLACEHOLDER_SECRET), sm4_keys=SecretStr(""))  # type: ignore[call-arg]
    ring = CryptoKeys.from_settings(settings).sm4
    assert ring.active == DEV_KEY_ID and ring.decrypt_text(ring.encrypt_text("x"), "") == "x"
    example = (ROOT / "schemas/examples/checks.results/1/consistent.json").read_text("utf-8")
    assert "北京海淀示例科技有限公司" not in example
    exec(code, {"DEV_KEY_HEX": dev_key.hex(), "RESULT_JSON": example})
    assert capsys.readouterr().out.split() == [
        "北京海淀示例科技有限公司",
        "9111010829141777X4",
        "911101056317066918",
    ]
