"""413 for uploads over the configured size, before and while the body is read (pure ASGI middleware).

A declared Content-Length over the limit is answered at once; a body that grows past it (chunked, or
lying about its length) is cut off as it streams in, so nothing over the limit is ever spooled, and
whatever the app would have answered is replaced by the 413.
"""

from __future__ import annotations

import json

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MESSAGE = {
    "msg": "the upload exceeds the size limit of {limit} bytes",
    "msg_zh": "上传文件超过大小上限({limit}字节)",
}


def too_large(limit: int) -> dict[str, str]:
    return {k: v.format(limit=limit) for k, v in MESSAGE.items()}


class UploadLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int, path_prefix: str) -> None:
        self.app, self.max_bytes, self.path_prefix = app, max_bytes, path_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or not scope["path"].startswith(self.path_prefix)
        ):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _refuse(send, self.max_bytes)
            return
        seen = 0
        exceeded = False

        async def counted() -> Message:
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    exceeded = True
                    raise HTTPException(status_code=413, detail=too_large(self.max_bytes))
            return message

        async def answer(message: Message) -> None:
            # the form parser may turn our exception into a 400: whatever the app answers, it is a 413
            if not exceeded:
                await send(message)
            elif message["type"] == "http.response.start":
                await _refuse(send, self.max_bytes)

        await self.app(scope, counted, answer)


async def _refuse(send: Send, limit: int) -> None:
    body = json.dumps({"detail": too_large(limit)}, ensure_ascii=False).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
