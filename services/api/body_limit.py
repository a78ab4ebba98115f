"""413 for request bodies over the limit, before and while they are read (pure ASGI middleware).

JSON (and bodies without a type) get `api_max_body_bytes`; uploads (multipart, CSV, PDF…) get the
larger `api_max_upload_bytes`, and their routes may refuse less. A declared Content-Length over the
limit is answered at once; a body that grows past it (chunked, or lying about its length) is cut off
as it streams in.
"""

from __future__ import annotations

import json

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_SMALL_TYPES = (b"", b"application/json", b"application/x-www-form-urlencoded", b"text/plain")


def too_large(limit: int) -> dict[str, str]:
    return {
        "code": "body_too_large",
        "msg": f"the request body exceeds {limit} bytes",
        "msg_zh": f"请求体超过大小上限（{limit} 字节）",
    }


class BodyLimit:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_upload_bytes: int) -> None:
        self.app, self.max_body, self.max_upload = app, max_body_bytes, max_upload_bytes

    def limit_for(self, content_type: bytes) -> int:
        media = content_type.split(b";")[0].strip().lower()
        return self.max_body if media in _SMALL_TYPES or media.endswith(b"+json") else self.max_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        limit = self.limit_for(headers.get(b"content-type", b""))
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _refuse(send, limit)
            return
        seen, started, refused = 0, False, False

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:  # we answered 413 already; whatever the app says after that is dropped
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        async def counted() -> Message:
            """Count the body as it streams in. Past the limit: answer 413 ourselves and tell the app the
            client left (an exception raised here would reach FastAPI wrapped, as a 400)."""
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    if started:
                        raise HTTPException(status_code=413, detail=too_large(limit))
                    refused = True
                    await _refuse(send, limit)
                    return {"type": "http.disconnect"}
            return message

        await self.app(scope, counted, guarded_send)


async def _refuse(send: Send, limit: int) -> None:
    body = json.dumps({"detail": too_large(limit)}, ensure_ascii=False).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
