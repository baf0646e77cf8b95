"""Request size limit, enforced before a byte of an oversize body is buffered.

A pure ASGI middleware (not BaseHTTPMiddleware, which would buffer and change cancellation):
a declared Content-Length over the limit is refused at once; a chunked body is counted as it
streams and refused when it crosses the limit.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import problem

# Room for a multipart upload's own text beside the file: boundaries, part headers, and the
# short fields (alt text, caption, credit) sent with it.
MULTIPART_OVERHEAD = 64 * 1024


class RequestSizeLimit:
    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        *,
        upload_paths: frozenset[str] = frozenset(),
        max_upload_bytes: int = 0,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # Uploads (media) may be larger: their own limit, on exactly these paths.
        self._upload_paths = upload_paths
        self._max_upload_bytes = max_upload_bytes + MULTIPART_OVERHEAD

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._max_upload_bytes if scope["path"] in self._upload_paths else self.max_bytes
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            response = problem(413, self._detail(int(declared), limit))
            await response(scope, receive, send)
            return

        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Raised inside body parsing; FastAPI re-raises HTTPExceptions as they are,
                    # and errors.py renders it as a 413 problem.
                    raise HTTPException(413, self._detail(received, limit))
            return message

        await self.app(scope, counting_receive, send)

    def _detail(self, size: int, limit: int) -> str:
        return f"Request body of {size} bytes exceeds the limit of {limit} bytes."
