"""`/metrics` for the scraper only: with FAPIAO_METRICS_TOKEN set it needs `Authorization: Bearer
<token>`; without one, only clients on this machine (loopback) get it. Everyone else gets 404, so the
page's request counts, paths and timings tell an outsider nothing (issue 16)."""

from __future__ import annotations

import hmac

from prometheus_client import make_asgi_app
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

_LOOPBACK = ("127.", "::1", "localhost")


def guarded_metrics(token: str) -> ASGIApp:
    metrics = make_asgi_app()
    expected = f"Bearer {token}".encode()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if token:
            given = dict(scope.get("headers", ())).get(b"authorization", b"")
            allowed = hmac.compare_digest(given, expected)
        else:
            client = scope.get("client") or ("", 0)
            allowed = str(client[0]).startswith(_LOOPBACK)
        if allowed:
            await metrics(scope, receive, send)
        else:
            await PlainTextResponse("not found\n", status_code=404)(scope, receive, send)

    return app
