"""`/v1/kb`: 常见问题 — the knowledge base's short answers (public: help needs no login)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel

from fapiao import kb

router = APIRouter(prefix="/v1/kb", tags=["help"])
Lang = Literal["zh", "en"]


class ArticleOut(BaseModel):
    id: str
    lang: str
    title: str
    body: str
    verdicts: list[str]
    tags: list[str]

    @classmethod
    def of(cls, a: kb.Article) -> ArticleOut:
        return cls(
            id=a.id, lang=a.lang, title=a.title, body=a.body, verdicts=list(a.verdicts), tags=list(a.tags)
        )


class ArticlesOut(BaseModel):
    data: list[ArticleOut]
    count: int


@router.get("", response_model=ArticlesOut, summary="Search the answers (every word must match)")
async def search(
    q: Annotated[str, Query(max_length=100)] = "",
    lang: Lang = "zh",
    verdict: Annotated[str | None, Query(max_length=32, description="the answer for this verdict")] = None,
) -> ArticlesOut:
    if verdict is not None:
        found = kb.for_verdict(verdict, lang)
        hits = [found] if found else []
    else:
        hits = kb.search(q, lang)
    return ArticlesOut(data=[ArticleOut.of(a) for a in hits], count=len(hits))


@router.get("/{article_id}", response_model=ArticleOut, summary="One answer")
async def article(article_id: str, lang: Lang = "zh") -> ArticleOut:
    found = kb.find(lang, article_id)
    if found is None:
        raise HTTPException(
            status_code=404, detail={"code": "not_found", "msg": "no such answer", "msg_zh": "没有这条问答"}
        )
    return ArticleOut.of(found)
