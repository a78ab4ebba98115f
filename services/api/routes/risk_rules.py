"""`/v1/risk/rules`: each organisation's risk rules — read, change, history, roll back (analysts).

An organisation's rules are its own: a change here never touches another organisation or the platform
default (which only a platform operator publishes, `fapiao risk-rules publish-default`). The server
assigns every version (the organisation's last + 1), so a client cannot push a version that overflows
storage or hides later changes; a rollback republishes an older version's content as a new version.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from fapiao import topics
from fapiao.risk.rules_book import topic_key
from schemas.events import RiskRules, RuleName
from services.api.deps import StateDep
from services.api.people import ShownPeople, shown_people
from services.api.principal import AlertsPrincipal, AnalystPrincipal
from services.api.state import ApiState

router = APIRouter(tags=["risk rules"])
CATCH_UP_SECONDS = 10.0


class RiskRulesUpdate(BaseModel):
    """New parameters for your organisation's rules; the server assigns the version."""

    model_config = ConfigDict(extra="forbid")

    base_version: int | None = Field(
        default=None,
        ge=0,
        description="the version you edited (0: none of your own yet); 409 if your rules changed since",
    )
    alert_threshold: int = Field(default=60, ge=0, le=100)
    alert_window_seconds: int = Field(default=24 * 3600, ge=0, le=366 * 24 * 3600)
    model_weight: float = Field(default=0.3, ge=0, le=1)
    weights: dict[RuleName, Annotated[int, Field(ge=0, le=100)]] = Field(default_factory=dict, max_length=64)
    params: dict[RuleName, Annotated[float, Field(allow_inf_nan=False)]] = Field(
        default_factory=dict, max_length=64
    )


class RulesInForce(BaseModel):
    rules: RiskRules
    inherited: bool = Field(
        description="true: your organisation has none of its own, the platform default applies"
    )


class RulesHistory(BaseModel):
    data: list[RiskRules]
    count: int


def _conflict(code: str, en: str, zh: str) -> HTTPException:
    return HTTPException(status_code=409, detail={"code": code, "msg": en, "msg_zh": zh})


async def _caught_up(state: ApiState) -> None:
    try:
        await asyncio.wait_for(state.rules_read.wait(), CATCH_UP_SECONDS)
    except TimeoutError as exc:
        raise HTTPException(
            status_code=503,
            detail={
                "code": "rules_not_loaded",
                "msg": "risk rules are still loading, retry shortly",
                "msg_zh": "风险规则仍在加载，请稍后重试",
            },
            headers={"Retry-After": "5"},
        ) from exc


async def _publish(state: ApiState, org_id: str, by: str, fields: dict[str, object]) -> RiskRules:
    rules = RiskRules.model_validate(
        {
            **fields,
            "org_id": org_id,
            "version": state.rules.next_version(org_id),
            "updated_by": by,
            "updated_at": datetime.now(UTC),
        }
    )
    await state.publisher.publish(topics.RISK_RULES, topic_key(rules), rules)
    state.rules.offer(rules)  # the next change builds on it even before the feed brings it back
    return rules


def _shown(rules: RiskRules, org_id: str, people: ShownPeople) -> RiskRules:
    """The organisation's own rules name the member who changed them (`people`: a reference for API
    keys); the platform default's `updated_by` names no member."""
    if rules.org_id != org_id or not rules.updated_by:
        return rules
    return rules.model_copy(update={"updated_by": people(rules.updated_by)})


@router.get("/v1/risk/rules", response_model=RulesInForce, summary="The risk rules scoring your checks")
async def get_rules(request: Request, state: StateDep, principal: AlertsPrincipal) -> RulesInForce:
    await _caught_up(state)
    own = state.rules.own(principal.org_id)
    people = shown_people(request, principal)
    rules = _shown(own or state.rules.for_org(principal.org_id), principal.org_id, people)
    return RulesInForce(rules=rules, inherited=own is None)


@router.put(
    "/v1/risk/rules",
    response_model=RiskRules,
    summary="Change your organisation's risk rules (analysts); every worker applies them within seconds",
)
async def put_rules(update: RiskRulesUpdate, state: StateDep, principal: AnalystPrincipal) -> RiskRules:
    await _caught_up(state)
    async with state.rules_lock:
        own = state.rules.own(principal.org_id)
        current = own.version if own is not None else 0
        if update.base_version is not None and update.base_version != current:
            raise _conflict(
                "rules_changed",
                f"your rules are at version {current}, not {update.base_version}: reload and edit again",
                f"规则已更新至第 {current} 版（不是第 {update.base_version} 版），请刷新后再修改",
            )
        return await _publish(
            state, principal.org_id, principal.subject, update.model_dump(exclude={"base_version"})
        )


@router.get(
    "/v1/risk/rules/history", response_model=RulesHistory, summary="Your organisation's rule versions"
)
async def rules_history(request: Request, state: StateDep, principal: AlertsPrincipal) -> RulesHistory:
    await _caught_up(state)
    people = shown_people(request, principal)
    data = [_shown(r, principal.org_id, people) for r in state.rules.history(principal.org_id)]
    return RulesHistory(data=data, count=len(data))


@router.post(
    "/v1/risk/rules/rollback/{version}",
    response_model=RiskRules,
    summary="Make an earlier version of your rules current again (published as a new version)",
)
async def rollback_rules(
    version: Annotated[int, Path(ge=1, le=2**32 - 1)], state: StateDep, principal: AnalystPrincipal
) -> RiskRules:
    await _caught_up(state)
    async with state.rules_lock:
        old = state.rules.version(principal.org_id, version)
        if old is None:
            raise HTTPException(
                status_code=404,
                detail={
                    "code": "rules_version_not_found",
                    "msg": f"no rules version {version} in your organisation",
                    "msg_zh": f"本组织没有第 {version} 版规则",
                },
            )
        fields = old.model_dump(exclude={"org_id", "version", "updated_by", "updated_at", "schema_version"})
        return await _publish(state, principal.org_id, principal.subject, fields)
