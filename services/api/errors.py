"""Accounts errors as HTTP answers: a status per kind, the code, and the English and Chinese message."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from fapiao.accounts.exceptions import AccountLocked, AccountsError, WeakPassword

STATUS = {
    "invalid": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "locked": 429,
}


async def accounts_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AccountsError)
    detail: dict[str, object] = {"code": exc.code, "msg": exc.msg_en, "msg_zh": exc.msg_zh}
    headers: dict[str, str] = {}
    if isinstance(exc, WeakPassword):
        detail["problems"] = [{"msg": en, "msg_zh": zh} for en, zh in exc.problems]
    if isinstance(exc, AccountLocked):
        headers["Retry-After"] = str(exc.retry_after)
    if exc.kind == "unauthorized":
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse({"detail": detail}, status_code=STATUS[exc.kind], headers=headers)


def install(app: FastAPI) -> None:
    app.add_exception_handler(AccountsError, accounts_error)
