"""Builds the intake API. `create_app(settings)`; connections open in the lifespan, not at import."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI

from fapiao import __version__, loop_monitor
from fapiao.settings import Settings
from services.api import api_docs, errors
from services.api.accounts_state import AccountsState
from services.api.body_limit import BodyLimit
from services.api.metrics_guard import guarded_metrics
from services.api.request_metrics import RequestMetrics
from services.api.routes import (
    alerts,
    analytics,
    api_keys,
    auth,
    batches,
    cases,
    check_form,
    checks,
    feedback,
    health,
    history,
    kb,
    orgs,
    receipts,
    reports,
    reviews,
    risk_rules,
    webhooks,
)
from services.api.security_headers import SecurityHeaders
from services.api.state import ApiState
from services.api.upload_limit import UploadLimit
from services.web import mount as mount_web

log = structlog.get_logger(__name__)


def create_app(settings: Settings) -> FastAPI:
    loop_monitor.time_gc(loop_monitor.API)
    if settings.dev_expose_tokens:
        log.warning(
            "FAPIAO_DEV_EXPOSE_TOKENS is on: password reset and invitation tokens are returned in API "
            "answers, so anyone can take over any account by its email. Local development only."
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        accounts = await AccountsState.open(settings)  # applies the accounts migrations
        app.state.accounts = accounts
        state = ApiState.build(settings)
        await state.start()
        app.state.api = state
        loop_monitor.freeze_start_up_heap(settings.gc_young_threshold)
        probe = asyncio.create_task(
            loop_monitor.watch_loop(settings.loop_probe_seconds, loop_monitor.API.loop_lag.observe),
            name="loop-lag-probe",
        )
        try:
            yield
        finally:
            probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await probe
            await state.stop()
            accounts.close()

    app = FastAPI(
        title="Fapiao Sentinel API",
        version=__version__,
        description="发票查验 — verify Chinese VAT invoices against the register, in milliseconds.",
        lifespan=lifespan,
        docs_url=None,  # api_docs serves /docs from local files (no CDN); no ReDoc
        redoc_url=None,
    )
    api_docs.install(app)

    app.include_router(health.router)
    app.include_router(checks.router)
    app.include_router(batches.router)
    app.add_middleware(UploadLimit, max_bytes=settings.batch_max_upload_bytes, path_prefix="/v1/batches")
    app.include_router(alerts.router)
    app.include_router(cases.router)  # after alerts: /v1/alerts/{alert_id} comes last
    app.include_router(risk_rules.router)
    for router in (auth.router, orgs.router, api_keys.router, receipts.router):
        app.include_router(router)
    for router in (history.router, analytics.router, reports.router):
        app.include_router(router)
    app.include_router(check_form.router)
    app.include_router(feedback.router)
    app.include_router(webhooks.router)
    app.include_router(kb.router)
    app.include_router(reviews.router)  # 人工复核 of documents and batch rows
    errors.install(app)
    app.add_middleware(
        BodyLimit, max_body_bytes=settings.api_max_body_bytes, max_upload_bytes=settings.api_max_upload_bytes
    )
    app.add_middleware(RequestMetrics)
    app.add_middleware(SecurityHeaders, hsts=settings.env == "production")
    app.mount("/metrics", guarded_metrics(settings.metrics_token.get_secret_value()))
    mount_web(app)  # the web app at /app/
    return app
