"""常见问题 / knowledge base (pure): short answers written as Markdown under docs/kb/<lang>/<id>.md, each
with a small header (id, the verdicts it explains, search tags), searched by the web app and linked
from the verdict card. Chinese and English have the same ids."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

KB_DIR = Path(__file__).resolve().parents[1] / "docs" / "kb"
LANGS = ("zh", "en")


@dataclass(frozen=True)
class Article:
    id: str
    lang: str
    title: str
    body: str  # Markdown, without the title line
    verdicts: tuple[str, ...]
    tags: tuple[str, ...]


def parse(text: str, lang: str) -> Article:
    """One file: `---` header lines `key: a, b`, `---`, then `# Title` and the Markdown answer."""
    _, header, rest = text.split("---\n", 2)
    meta = {
        k.strip(): v.strip() for k, v in (line.split(":", 1) for line in header.splitlines() if ":" in line)
    }
    title_line, _, body = rest.strip().partition("\n")
    listed = lambda key: tuple(x.strip() for x in meta.get(key, "").split(",") if x.strip())  # noqa: E731
    return Article(
        meta["id"], lang, title_line.lstrip("# ").strip(), body.strip(), listed("verdicts"), listed("tags")
    )


@cache
def articles(directory: Path = KB_DIR) -> tuple[Article, ...]:
    return tuple(
        parse(path.read_text("utf-8"), lang)
        for lang in LANGS
        for path in sorted((directory / lang).glob("*.md"))
    )


def find(lang: str, article_id: str, directory: Path = KB_DIR) -> Article | None:
    return next((a for a in articles(directory) if a.lang == lang and a.id == article_id), None)


def for_verdict(verdict: str, lang: str, directory: Path = KB_DIR) -> Article | None:
    """The answer the verdict card links to."""
    return next((a for a in articles(directory) if a.lang == lang and verdict in a.verdicts), None)


def search(query: str, lang: str, directory: Path = KB_DIR) -> list[Article]:
    """Articles of `lang` matching every word of the query (case-insensitive substring: works for
    Chinese without a tokenizer), best first: title and tags weigh more than the body. An empty query
    lists them all."""
    words = [w.lower() for w in query.split() if w]
    scored = []
    for article in (a for a in articles(directory) if a.lang == lang):
        head = (article.title + " " + " ".join(article.tags) + " " + " ".join(article.verdicts)).lower()
        body = article.body.lower()
        if not all(w in head or w in body for w in words):
            continue
        scored.append((-sum(3 * head.count(w) + body.count(w) for w in words), article.id, article))
    return [a for _, _, a in sorted(scored, key=lambda s: (s[0], s[1]))]
