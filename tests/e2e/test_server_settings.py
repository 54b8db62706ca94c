"""Server-level settings take effect when the app starts (its lifespan)."""

from __future__ import annotations

import anyio.to_thread
from fastapi.testclient import TestClient

from kopilka.app.library import Kopilka
from kopilka.config import Settings
from kopilka.entrypoints.http.app import create_app


async def _thread_tokens() -> float:
    return anyio.to_thread.current_default_thread_limiter().total_tokens


def test_http_threads_bounds_the_handler_thread_pool(kopilka: Kopilka) -> None:
    settings = Settings(database_url=kopilka.db.url, env="test", otp_sender="memory",
                        http_threads=3)
    with TestClient(create_app(kopilka, settings)) as client:
        assert client.portal is not None
        assert client.portal.call(_thread_tokens) == 3
        assert client.get("/healthz").status_code == 200
