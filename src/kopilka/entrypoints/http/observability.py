"""Prometheus metrics and structured (JSON) request logs, as one ASGI middleware."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from prometheus_client import Counter, Histogram
from starlette.exceptions import HTTPException

REQUESTS = Counter("kopilka_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram("kopilka_http_request_seconds", "HTTP request latency", ["method", "route"],
                    buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
MAX_BODY_BYTES = 1_048_576
access_log = logging.getLogger("kopilka.access")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: easy to ship and query."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {"ts": self.formatTime(record), "level": record.levelname,
                                "logger": record.name, "msg": record.getMessage()}
        data.update(getattr(record, "fields", {}))
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


class Observe:
    """Counts and times every request by route template; refuses oversized bodies."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers", ())).get(b"content-length")
        if length is not None and not length.isdigit():
            await _refuse(send, 400, "bad_request", "Content-Length is not a number")
            return
        if length is not None and int(length) > MAX_BODY_BYTES:
            await _refuse(send, 413, "payload_too_large", TOO_LARGE)
            return
        start = time.perf_counter()
        status = {"code": 500, "sent": False}
        received = {"bytes": 0}

        async def capture(message: dict) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                status["sent"] = True
            await send(message)

        async def counted_receive() -> dict:
            """Bodies without Content-Length (chunked) are counted as they arrive."""
            message = await receive()
            if message["type"] == "http.request":
                received["bytes"] += len(message.get("body", b""))
                if received["bytes"] > MAX_BODY_BYTES:
                    raise _TooLarge()
            return message

        try:
            await self.app(scope, counted_receive, capture)
        except _TooLarge:
            if not status["sent"]:
                status["code"] = 413
                await _refuse(send, 413, "payload_too_large", TOO_LARGE)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            elapsed = time.perf_counter() - start
            REQUESTS.labels(scope["method"], route, str(status["code"])).inc()
            LATENCY.labels(scope["method"], route).observe(elapsed)
            if access_log.isEnabledFor(logging.INFO):
                access_log.info("request", extra={"fields": {
                    "method": scope["method"], "path": scope["path"], "route": route,
                    "status": status["code"], "ms": round(elapsed * 1000, 2)}})


TOO_LARGE = f"request bodies are limited to {MAX_BODY_BYTES} bytes"


class _TooLarge(HTTPException):
    """Raised from the body stream; FastAPI passes HTTPExceptions through to the handler."""

    def __init__(self) -> None:
        super().__init__(413, TOO_LARGE)
TITLES = {400: "Bad request", 413: "Payload too large"}


async def _refuse(send: Any, status: int, code: str, detail: str) -> None:
    body = json.dumps({"type": f"https://kopilka.dev/problems/{code}", "title": TITLES[status],
                       "status": status, "code": code, "detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/problem+json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
