"""Parallel spends over real HTTP against PostgreSQL: the balance never drops below zero,
every accepted spend is in the ledger exactly once, and retries of one key take effect once."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import pytest
import uvicorn

from kopilka.adapters.sql.verify import verify
from kopilka.app.library import Kopilka
from kopilka.app.members import Enrolment
from kopilka.config import Settings
from kopilka.entrypoints.http.app import create_app
from kopilka.entrypoints.http.auth import create_key
from tests.conftest import make_library

# many PostgreSQL connections each: these modules run one after another on one worker
pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group("pg_connections")]
PARALLEL = 64


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(pg_url: str) -> Iterator[tuple[str, Kopilka, str]]:
    k = make_library(pg_url, pool_size=32)  # enough connections for the parallel requests
    app = create_app(k, Settings(database_url=pg_url, env="test"))
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            limit_concurrency=500)
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "server did not start"
    token = create_key(k.db, name="till", partner_id="main", scopes=["pos", "members:write"],
                       now=datetime.now(UTC))
    try:
        yield f"http://127.0.0.1:{port}", k, token
    finally:
        srv.should_exit = True
        thread.join(10)
        k.db.dispose()


def _fire(url: str, token: str,
          requests: list[tuple[str, dict, str | None]]) -> list[httpx.Response]:
    """Send all requests at once (a barrier releases them together)."""
    barrier = threading.Barrier(len(requests))

    def send(req: tuple[str, dict, str | None]) -> httpx.Response:
        path, body, key = req
        headers = {"Authorization": f"Bearer {token}"}
        if key:
            headers["Idempotency-Key"] = key
        with httpx.Client(base_url=url, timeout=60) as client:
            barrier.wait()
            return client.post(path, json=body, headers=headers)

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(send, requests))


def test_parallel_spends_never_overdraw_one_member(server) -> None:  # noqa: ANN001
    url, k, token = server
    member_id = k.enrol(Enrolment(phone="+79161234567",
                                  consents={"personal_data": True})).body["member_id"]
    k.earn(member_id, 1000)
    path = f"/v1/members/{member_id}/points/spend"
    responses = _fire(url, token, [(path, {"points": 30}, f"spend-{i}") for i in range(PARALLEL)])
    statuses = sorted(r.status_code for r in responses)
    accepted = [r for r in responses if r.status_code == 201]
    refused = [r for r in responses if r.status_code == 422]
    assert len(accepted) == 1000 // 30, statuses
    assert len(accepted) + len(refused) == PARALLEL, statuses
    assert all(r.json()["code"] == "insufficient_points" for r in refused)
    assert all(r.json()["balance"]["available"] >= 0 for r in accepted)
    assert k.balance(member_id)["available"] == 1000 - 30 * len(accepted)
    history = k.history(member_id, limit=500)["items"]
    assert sum(1 for op in history if op["code"] == "spend") == len(accepted)
    with k.db.engine.connect() as conn:
        assert verify(conn) == []


def test_a_retry_storm_of_one_key_takes_effect_once(server) -> None:  # noqa: ANN001
    url, k, token = server
    member_id = k.enrol(Enrolment(phone="+79161234568",
                                  consents={"personal_data": True})).body["member_id"]
    path = f"/v1/members/{member_id}/points/earn"
    responses = _fire(url, token, [(path, {"points": 250}, "same-key")] * 50)
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["operation_id"] for r in responses}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 49
    assert k.balance(member_id)["available"] == 250
    with k.db.engine.connect() as conn:
        assert verify(conn) == []
