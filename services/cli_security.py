"""`fapiao accounts …`, `fapiao keys …`, `fapiao receipt …`: the accounts store, 国密 keys, receipts."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

accounts_app = typer.Typer(help="Accounts store (users, organisations, API keys).", no_args_is_help=True)
keys_app = typer.Typer(help="国密 keys: SM2 receipt key pair, SM4/HMAC keys.", no_args_is_help=True)
receipt_app = typer.Typer(help="Verification receipts (查验证明).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(accounts_app, name="accounts")
    app.add_typer(keys_app, name="keys")
    app.add_typer(receipt_app, name="receipt")


@accounts_app.command("migrate")
def accounts_migrate() -> None:
    """Apply the accounts migrations (alembic; idempotent). The API also does this when it starts."""
    from fapiao.accounts.db import make_engine, migrate
    from fapiao.settings import Settings

    settings = Settings()
    engine = make_engine(settings.accounts_url)
    try:
        revision = migrate(engine)
    finally:
        engine.dispose()
    typer.echo(f"accounts store {engine.url.render_as_string(hide_password=True)}: at revision {revision}")


@accounts_app.command("bootstrap-demo")
def bootstrap_demo(
    credentials: Annotated[Path, typer.Option(help="where the demo credentials are kept (0600)")] = Path(
        ".local/demo-credentials.json"
    ),
) -> None:
    """Create (once) the demo organisation `demo`, its admin and an API key; print the key."""
    from fapiao.accounts import demo
    from fapiao.accounts.context import AccountsContext
    from fapiao.accounts.db import make_engine, migrate
    from fapiao.settings import Settings

    settings = Settings()
    engine = make_engine(settings.accounts_url)
    migrate(engine)
    saved = demo.bootstrap_demo(AccountsContext.from_settings(settings, engine=engine), credentials)
    engine.dispose()
    typer.echo(
        f"demo organisation {saved['org_id']}: admin {saved['email']} (password in {credentials})", err=True
    )
    typer.echo(saved["api_key"])


@keys_app.command("init")
def keys_init() -> None:
    """Create the SM2 receipt key pair under FAPIAO_KEYS_DIR if missing; print its public key and
    suggest SM4/HMAC key settings for a new deployment."""
    import secrets

    from fapiao.crypto import sm2
    from fapiao.settings import Settings

    settings = Settings()
    pair = sm2.load_or_create(settings.keys_dir)
    where = settings.keys_dir / sm2.PRIVATE_FILE
    typer.echo(f"SM2 receipt key: {where} (fingerprint {sm2.fingerprint(pair.public)})")
    typer.echo(sm2.public_key_pem(pair.public), nl=False)
    if not settings.sm4_keys.get_secret_value():
        typer.echo(
            "\nFAPIAO_SM4_KEYS and FAPIAO_HMAC_KEY are unset (development keys derive from the secret)."
        )
        typer.echo(f"For a deployment: FAPIAO_SM4_KEYS=k1:{secrets.token_hex(16)} FAPIAO_SM4_ACTIVE_KEY=k1")
        typer.echo(f"                  FAPIAO_HMAC_KEY={secrets.token_hex(32)}")


@receipt_app.command("verify")
def receipt_verify(
    file: Annotated[Path, typer.Argument(help="a receipt JSON from GET /v1/checks/{id}/receipt")],
    public_key: Annotated[
        str | None,
        typer.Option(help="the published key: a PEM file, or hex (default: FAPIAO_KEYS_DIR's, if present)"),
    ] = None,
) -> None:
    """Check a receipt's SM2 signature. Exit 0 when valid, 1 when not."""
    from fapiao.crypto import sm2
    from fapiao.crypto.exceptions import SignatureError
    from fapiao.receipts import signing
    from fapiao.settings import Settings

    try:
        document = json.loads(file.read_text(encoding="utf-8"))
        key_text = public_key
        if key_text is not None and Path(key_text).is_file():
            key_text = Path(key_text).read_text()
        local = Settings().keys_dir / sm2.PUBLIC_FILE
        if key_text is None and local.is_file():
            key_text = local.read_text()
        public = sm2.load_public_key(key_text) if key_text is not None else None
    except (OSError, ValueError, SignatureError) as exc:
        typer.echo(f"cannot verify: {exc}", err=True)
        raise typer.Exit(2) from exc
    valid, why = signing.verify(document, public)
    check = document.get("receipt", {}).get("check", {}) if isinstance(document, dict) else {}
    line = f"{'VALID 验签通过' if valid else 'INVALID 验签失败'}: {why}"
    if valid:
        line += f"\n  check {check.get('check_id')}: {check.get('verdict_zh')} ({check.get('verdict')})"
    (sys.stdout if valid else sys.stderr).write(line + "\n")
    raise typer.Exit(0 if valid else 1)
