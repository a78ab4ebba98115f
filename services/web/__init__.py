"""The web app (发票查验 in the browser): ES modules and CSS under `static/`, served at `/app/` by the API.

No build step and nothing from a CDN: the browser loads the project's own files. The service worker is
generated here so its cache name is a hash of the files it caches: any change to the app shell makes a
new cache, and the old one is dropped when the new worker activates.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC = Path(__file__).resolve().parent / "static"
PREFIX = "/app"
# Scripts, styles, images and connections only from this origin; no inline script or style, no frames.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
        "form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


class WebFiles(StaticFiles):
    """Static files with the app's security headers; revalidated on every load (ETag), so a deploy
    shows at once online and the service worker keeps the copy for offline use."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(SECURITY_HEADERS)
        response.headers["Cache-Control"] = "no-cache"
        return response


def shell_files(root: Path = STATIC) -> list[str]:
    """The app shell the service worker caches: every file under static/, as URLs."""
    files = sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))
    return [f"{PREFIX}/", *(f"{PREFIX}/{p.relative_to(root).as_posix()}" for p in files)]


def service_worker(root: Path = STATIC) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    template = (Path(__file__).resolve().parent / "sw.js").read_text(encoding="utf-8")
    return template.replace("__VERSION__", digest.hexdigest()[:16]).replace(
        "__SHELL__", json.dumps(shell_files(root))
    )


def mount(app: FastAPI) -> None:
    """`/` → `/app/`; `/app/sw.js` (generated); `/app/…` the static files."""
    worker = service_worker()

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/")

    @app.get(f"{PREFIX}/sw.js", include_in_schema=False)
    async def sw() -> Response:
        headers = {**SECURITY_HEADERS, "Cache-Control": "no-cache"}
        return Response(worker, media_type="text/javascript", headers=headers)

    app.mount(PREFIX, WebFiles(directory=STATIC, html=True), name="web")
