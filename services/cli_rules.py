"""`fapiao risk-rules show|publish-default`: the platform operator's side of the risk rules.

Organisations change their own rules through the API (`/v1/risk/rules`); the platform default, which
scores every organisation without rules of its own, is published only from here, with the broker
credentials of an operator (the `api` principal may write `risk.rules`, the organisations' analysts
may not reach Kafka at all)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from fapiao.settings import Settings

rules_app = typer.Typer(
    help="Risk rules: the platform default and every organisation's.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(rules_app, name="risk-rules")


def _book(settings: Settings):  # type: ignore[no-untyped-def]
    import asyncio

    from fapiao import topics
    from fapiao.risk.rules import DEFAULT_RULES
    from fapiao.risk.rules_book import RulesBook
    from fapiao.topic_reader import read_whole
    from schemas.events import RiskRules

    book = RulesBook(DEFAULT_RULES)
    for _p, _o, _k, value in asyncio.run(read_whole(settings, settings.topic(topics.RISK_RULES.name))):
        if value:
            book.offer(RiskRules.model_validate_json(value))
    return book


@rules_app.command("show")
def show(org: Annotated[str, typer.Option(help="organisation id ('' = the platform default)")] = "") -> None:
    """The rules in force for an organisation (its own, else the platform default)."""
    from fapiao.settings import Settings

    rules = _book(Settings()).for_org(org)
    typer.echo(json.dumps(rules.model_dump(mode="json"), ensure_ascii=False, indent=2))


@rules_app.command("publish-default")
def publish_default(
    file: Annotated[Path, typer.Argument(help="JSON: alert_threshold, weights, params, … (no version)")],
) -> None:
    """Publish a new version of the platform default (version assigned: the last + 1)."""
    import asyncio
    import getpass

    from fapiao import topics
    from fapiao.bus import Publisher
    from fapiao.risk.rules_book import PLATFORM, topic_key
    from fapiao.settings import Settings
    from schemas.events import RiskRules

    settings = Settings()
    fields = json.loads(file.read_text("utf-8"))
    for assigned in ("org_id", "version", "updated_by", "updated_at", "schema_version"):
        fields.pop(assigned, None)
    book = _book(settings)
    try:
        rules = RiskRules.model_validate(
            fields
            | {
                "org_id": PLATFORM,
                "version": book.next_version(PLATFORM),
                "updated_by": f"operator:{getpass.getuser()}",
                "updated_at": datetime.now(UTC).isoformat(),
            }
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc

    async def send() -> None:
        publisher = Publisher(settings)
        await publisher.start()
        try:
            await publisher.publish(topics.RISK_RULES, topic_key(rules), rules)
        finally:
            await publisher.stop()

    asyncio.run(send())
    typer.echo(f"platform default rules: version {rules.version} published")
