"""`fapiao dlq list|show|replay`: the dead letters — what failed, why, and sending it again after a fix."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from fapiao.settings import Settings

dlq_app = typer.Typer(help="Dead letters (checks.dlq): list, show, replay.", no_args_is_help=True)

StageOpt = Annotated[str | None, typer.Option(help="verify, register, risk or sink")]
KindOpt = Annotated[str | None, typer.Option(help="unreadable, exception or unstorable")]
ErrorOpt = Annotated[str | None, typer.Option(help="a part of the error text")]
TopicOpt = Annotated[str | None, typer.Option("--topic", help="source topic, e.g. checks.requested")]
SinceOpt = Annotated[datetime | None, typer.Option(help="failed at or after (ISO time, UTC if no offset)")]


def register(app: typer.Typer) -> None:
    app.add_typer(dlq_app, name="dlq")


def _filter(
    stage: str | None, kind: str | None, error: str | None, topic: str | None, since: datetime | None
):  # type: ignore[no-untyped-def]
    from fapiao.dead_letter_replay import LetterFilter

    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return LetterFilter(stage=stage, kind=kind, error=error, source_topic=topic, since=since)


def _letters(settings: Settings):  # type: ignore[no-untyped-def]
    import asyncio

    from fapiao import topics
    from fapiao.dead_letter_replay import Letter
    from fapiao.topic_reader import read_whole
    from schemas.events import DeadLetter

    records = asyncio.run(read_whole(settings, settings.topic(topics.CHECKS_DLQ.name)))
    return [Letter(p, o, DeadLetter.model_validate_json(v)) for p, o, _k, v in records if v]


@dlq_app.command("list")
def dlq_list(
    stage: StageOpt = None,
    kind: KindOpt = None,
    error: ErrorOpt = None,
    topic: TopicOpt = None,
    since: SinceOpt = None,
    limit: Annotated[int, typer.Option(min=1, help="newest N")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
) -> None:
    """The dead letters a filter keeps, newest last, with counts by stage and kind."""
    from collections import Counter

    from rich.console import Console
    from rich.table import Table

    from fapiao.settings import Settings

    settings = Settings()
    wanted = _filter(stage, kind, error, topic, since)
    kept = [x for x in _letters(settings) if wanted.keeps(x, settings.topic_prefix)]
    kept.sort(key=lambda x: x.letter.failed_at)
    if as_json:
        for x in kept[-limit:]:
            typer.echo(
                json.dumps({"ref": x.ref, **x.letter.model_dump(mode="json", exclude={"payload", "stack"})})
            )
        return
    table = Table("ref", "failed at", "stage", "kind", "source", "error", title=f"{len(kept)} dead letters")
    for x in kept[-limit:]:
        letter = x.letter
        source = f"{letter.source_topic}[{letter.partition}]@{letter.offset}"
        table.add_row(
            x.ref,
            letter.failed_at.isoformat(timespec="seconds"),
            letter.stage,
            letter.kind,
            source,
            letter.error[:120],
        )
    console = Console()
    console.print(table)
    counts = Counter((x.letter.stage, x.letter.kind) for x in kept)
    console.print(", ".join(f"{s}/{k}: {n}" for (s, k), n in sorted(counts.items())) or "none")


@dlq_app.command("show")
def dlq_show(
    ref: Annotated[str, typer.Argument(help="<partition>:<offset> on checks.dlq, from `dlq list`")],
) -> None:
    """One dead letter whole: error, stack, the original key and payload."""
    from fapiao.dead_letter_replay import parse_ref
    from fapiao.settings import Settings

    try:
        partition, offset = parse_ref(ref)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    found = [x for x in _letters(Settings()) if (x.partition, x.offset) == (partition, offset)]
    if not found:
        typer.echo(f"no dead letter {ref}", err=True)
        raise typer.Exit(1)
    typer.echo(json.dumps(found[0].letter.model_dump(mode="json"), ensure_ascii=False, indent=2))


@dlq_app.command("replay")
def dlq_replay(
    stage: StageOpt = None,
    kind: KindOpt = None,
    error: ErrorOpt = None,
    topic: TopicOpt = None,
    since: SinceOpt = None,
    again: Annotated[bool, typer.Option("--again", help="also letters replayed before")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="only say what would be sent")] = False,
) -> None:
    """Send the selected letters' original messages to their source topics again (after a fix); each
    letter once, recorded on checks.dlq.replays. The pipeline answers a replayed check once."""
    import asyncio
    import getpass

    from fapiao import topics
    from fapiao.bus import Publisher
    from fapiao.dead_letter_replay import to_replay
    from fapiao.settings import Settings
    from fapiao.topic_reader import read_whole
    from schemas.events import DeadLetterReplay

    settings = Settings()
    letters = _letters(settings)
    ledger = asyncio.run(read_whole(settings, settings.topic(topics.DLQ_REPLAYS.name)))
    replayed = {k.decode() for _p, _o, k, v in ledger if k is not None and v is not None}
    plan = to_replay(
        letters,
        _filter(stage, kind, error, topic, since),
        replayed,
        again=again,
        prefix=settings.topic_prefix,
    )
    typer.echo(f"{len(plan)} of {len(letters)} dead letters to replay" + (" (dry run)" if dry_run else ""))
    if dry_run or not plan:
        return

    async def send() -> None:
        publisher = Publisher(settings)
        await publisher.start()
        try:
            for x in plan:
                letter = x.letter
                key = letter.key.encode() if letter.key is not None else None
                await publisher.publish_raw(letter.source_topic, key, letter.payload.encode())
                mark = DeadLetterReplay(
                    dlq_partition=x.partition,
                    dlq_offset=x.offset,
                    source_topic=letter.source_topic,
                    replayed_at=datetime.now(UTC),
                    replayed_by=getpass.getuser(),
                )
                await publisher.publish(topics.DLQ_REPLAYS, x.ref, mark)
        finally:
            await publisher.stop()

    asyncio.run(send())
    typer.echo(f"replayed {len(plan)}")
