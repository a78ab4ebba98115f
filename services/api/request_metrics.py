"""Prometheus counters and latency of every HTTP request, by method and route template (pure ASGI
middleware: no extra task, stream or thread per request, unlike `@app.middleware("http")`)."""

from __future__ import annotations

import time

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter("fapiao_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "fapiao_http_request_seconds",
    "HTTP request latency (until the response starts)",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def route_of(scope: Scope) -> str:
    """The matched route's path template (`/v1/checks/{check_id}`), so that labels stay few."""
    return str(getattr(scope.get("route"), "path", "unmatched"))


class RequestMetrics:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        method = scope["method"]
        counted = False

        def count(status: int) -> None:
            nonlocal counted
            counted = True
            route = route_of(scope)
            LATENCY.labels(method, route).observe(time.perf_counter() - started)
            REQUESTS.labels(method, route, str(status)).inc()

        async def measured_send(message: Message) -> None:
            if message["type"] == "http.response.start" and not counted:
                count(int(message["status"]))
            await send(message)

        try:
            await self.app(scope, receive, measured_send)
        except Exception:
            if not counted:
                count(500)
            raise
