"""Liveness and readiness."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from fapiao.bus import broker_reachable
from fapiao.warehouse.engine import Engine
from services.api.deps import StateDep

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Kafka and ClickHouse are reachable (503 names which is not)")
async def readyz(state: StateDep) -> JSONResponse:
    kafka_ok, clickhouse = await asyncio.gather(broker_reachable(state.settings), _clickhouse(state))
    checks = {"kafka": "ok" if kafka_ok else "unreachable", "clickhouse": clickhouse}
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", **checks}, status_code=200 if ready else 503
    )


def _select_one(engine: Engine) -> list[tuple[object, ...]]:
    return engine.execute("SELECT 1")


async def _clickhouse(state: StateDep) -> str:  # type: ignore[valid-type]
    try:
        await asyncio.wait_for(state.query(_select_one), 3)
        return "ok"
    except Exception as exc:  # any failure means not ready; say which
        return f"unreachable: {type(exc).__name__}"
