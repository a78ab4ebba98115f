"""常见问题 / knowledge base (docs/kb): both languages, every verdict answered, search."""

from __future__ import annotations

from fapiao import kb
from schemas.events import Verdict


def test_every_answer_is_in_chinese_and_english() -> None:
    ids = {lang: {a.id for a in kb.articles() if a.lang == lang} for lang in kb.LANGS}
    assert ids["zh"] == ids["en"] and len(ids["zh"]) >= 9
    for article in kb.articles():
        assert article.title and article.body and "\n# " not in article.body


def test_every_verdict_has_an_answer_and_search_finds_by_word() -> None:
    for verdict in Verdict:
        for lang in kb.LANGS:
            assert kb.for_verdict(verdict.value, lang) is not None, (verdict, lang)
    assert kb.search("红冲", "zh")[0].id == "void-and-red"
    assert [a.id for a in kb.search("查无此票 同步", "zh")] == ["not-found"]
    assert kb.search("Webhook SM3", "en")[0].id == "webhooks"
    assert kb.search("nothing-like-this", "en") == []
    assert len(kb.search("", "zh")) == len([a for a in kb.articles() if a.lang == "zh"])
    assert kb.find("en", "two-factor") is not None and kb.find("en", "nope") is None
