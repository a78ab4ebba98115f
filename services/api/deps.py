"""FastAPI dependency aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.api.state import ApiState


async def _state(request: Request) -> ApiState:
    # async on purpose: FastAPI runs a plain `def` dependency in its thread pool, a thread hand-off
    # (and two loop wake-ups) on every request of every route that takes StateDep
    state: ApiState = request.app.state.api
    return state


StateDep = Annotated[ApiState, Depends(_state)]
