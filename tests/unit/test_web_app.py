"""The web app's files without a browser: how they are served, that they load nothing from elsewhere,
that every module they import and every text they show exists; feedback storage."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fapiao.accounts import feedback, orgs
from fapiao.accounts.context import AccountsContext
from fapiao.accounts.db import make_engine, migrate, session_factory
from fapiao.accounts.passwords import Passwords
from fapiao.crypto.keys import CryptoKeys
from fapiao.settings import Settings
from services.web import STATIC, mount

SCRIPTS = sorted(STATIC.rglob("*.js"))


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = FastAPI()
    mount(app)
    return TestClient(app)


def test_the_app_is_served_at_app_with_a_strict_content_security_policy(client: TestClient) -> None:
    root = client.get("/", follow_redirects=False)
    assert root.status_code == 307 and root.headers["location"] == "/app/"
    page = client.get("/app/")
    assert page.status_code == 200 and '<script type="module" src="js/app.js">' in page.text
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "javascript" in client.get("/app/js/app.js").headers["content-type"]


def test_the_service_worker_caches_every_file_of_the_shell(client: TestClient) -> None:
    worker = client.get("/app/sw.js")
    assert worker.status_code == 200 and "javascript" in worker.headers["content-type"]
    version = re.search(r'const VERSION = "([0-9a-f]{16})"', worker.text)
    assert version, worker.text[:300]
    for path in STATIC.rglob("*"):
        if path.is_file():
            url = f"/app/{path.relative_to(STATIC).as_posix()}"
            assert f'"{url}"' in worker.text
            assert client.get(url).status_code == 200


def test_nothing_is_loaded_from_another_origin() -> None:
    for path in STATIC.rglob("*"):
        if path.suffix in (".js", ".css", ".html", ".webmanifest", ".svg"):
            text = path.read_text(encoding="utf-8").replace("http://www.w3.org/2000/svg", "")
            assert not re.search(r"https?://|//cdn|@import url", text), path


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.relative_to(STATIC).as_posix())
def test_every_import_resolves_to_a_file(script: Path) -> None:
    for target in re.findall(r'^import .* from "(\.{1,2}/[^"]+)";', script.read_text(), re.MULTILINE):
        assert (script.parent / target).resolve().is_file(), f"{script.name} imports {target}"


def test_every_text_the_app_shows_is_in_both_languages() -> None:
    dictionary = (STATIC / "js" / "i18n.js").read_text(encoding="utf-8")
    keys = set(re.findall(r'^\s+"?([\w-]+)"?: \["[^"]*", "[^"]*"\],$', dictionary, re.MULTILINE))
    assert len(keys) > 150
    used = {k for s in SCRIPTS for k in re.findall(r'\bt\("([\w-]+)"', s.read_text(encoding="utf-8"))}
    assert used - keys == set()


def test_feedback_is_kept_per_organisation_newest_first(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/accounts.db")
    migrate(engine)
    ctx = AccountsContext(
        sessions=session_factory(engine),
        keys=CryptoKeys.from_settings(Settings(keys_dir=tmp_path / "keys")),
        secret=b"k" * 32,
        passwords=Passwords(fast=True),
    )
    mine, _ = orgs.register(ctx, "甲公司", "a@example.com", "Tr1cky-Lantern-47", "A")
    theirs, _ = orgs.register(ctx, "乙公司", "b@example.com", "Tr1cky-Lantern-47", "B")
    first = feedback.add(ctx, mine, "u1", "problem", "上传后没有进度", "", "web")
    second = feedback.add(ctx, mine, "u1", "praise", "很快", "a@example.com", "web")
    feedback.add(ctx, theirs, "u2", "question", "别家的", "", "web")
    assert [f.id for f in feedback.listing(ctx, mine, 10)] == [second.id, first.id]
    assert [f.message for f in feedback.listing(ctx, mine, 10, before_id=second.id)] == ["上传后没有进度"]


def test_every_risk_reason_has_a_label_in_both_languages() -> None:
    """An alert's reasons are shown by their label (`r_<reason>`): every rule, the model and the
    behaviour score need one in zh and en, or an alert would show a bare code (issue 20)."""
    from fapiao.risk import behaviour_model
    from fapiao.risk.rules import DEFAULT_RULES

    dictionary = (STATIC / "js" / "i18n.js").read_text(encoding="utf-8")
    labels = dict(re.findall(r'^\s+r_(\w+): \["([^"]+)", "[^"]+"\],$', dictionary, re.MULTILINE))
    reasons = {*DEFAULT_RULES.weights, "model_anomaly", behaviour_model.REASON}
    assert reasons - set(labels) == set()
