"""Request counters and latency by route template (`services.api.request_metrics`)."""

from __future__ import annotations

from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from services.api.request_metrics import RequestMetrics


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/t/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        if item_id == 0:
            raise HTTPException(status_code=404)
        return {"id": item_id}

    @app.get("/t/boom")
    async def boom() -> None:
        raise RuntimeError("boom")

    app.add_middleware(RequestMetrics)
    return app


def _count(route: str, status: str) -> float:
    value = REGISTRY.get_sample_value(
        "fapiao_http_requests_total", {"method": "GET", "route": route, "status": status}
    )
    return value or 0.0


def _observed(route: str) -> float:
    value = REGISTRY.get_sample_value("fapiao_http_request_seconds_count", {"method": "GET", "route": route})
    return value or 0.0


def test_requests_are_counted_by_route_template_and_status() -> None:
    before_ok, before_404 = _count("/t/items/{item_id}", "200"), _count("/t/items/{item_id}", "404")
    before_timed = _observed("/t/items/{item_id}")
    with TestClient(_app()) as client:
        assert client.get("/t/items/7").status_code == 200
        assert client.get("/t/items/8").status_code == 200
        assert client.get("/t/items/0").status_code == 404
    assert _count("/t/items/{item_id}", "200") - before_ok == 2
    assert _count("/t/items/{item_id}", "404") - before_404 == 1
    assert _observed("/t/items/{item_id}") - before_timed == 3


def test_unmatched_paths_and_crashes_are_counted_too() -> None:
    before_unmatched, before_crash = _count("unmatched", "404"), _count("/t/boom", "500")
    with TestClient(_app(), raise_server_exceptions=False) as client:
        assert client.get("/t/nowhere").status_code == 404
        assert client.get("/t/boom").status_code == 500
    assert _count("unmatched", "404") - before_unmatched == 1
    assert _count("/t/boom", "500") - before_crash == 1
