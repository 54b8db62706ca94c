"""The least an HTTP earn can do in Python: the floor that bench/ceiling.py measures.

A raw ASGI application (no framework, no validation library, no ORM) that does what an earn
must do and nothing else: parse the JSON body, check the bearer token, and in one PostgreSQL
transaction claim the Idempotency-Key, lock the member's balance row, plan the accrual with
kopilka's own pure planner, write it with kopilka's own hot-path statements (one psycopg
pipeline round trip), store the response under the key and commit.

It is NOT part of kopilka and serves no real traffic: it exists so that a benchmark run can
say how close `kopilka serve` is to what any Python service could reach on the same machine.
Run by uvicorn: `uvicorn --factory floor_app:create` with KOPILKA_FLOOR_URL and
KOPILKA_FLOOR_TOKEN in the environment.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

import orjson
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from kopilka.adapters.sql.hot import SQL
from kopilka.app.ports import new_id
from kopilka.domain.ledger import Balance, MemberPoints, plan_accrual

Q = SQL["postgresql"]
PREFIX = "/v1/members/"
SUFFIX = "/points/earn"


def create():  # noqa: ANN201 - an ASGI callable
    url = os.environ["KOPILKA_FLOOR_URL"].replace("postgresql+psycopg://", "postgresql://")
    token = ("Bearer " + os.environ["KOPILKA_FLOOR_TOKEN"]).encode()
    pool = AsyncConnectionPool(url, min_size=4, max_size=int(os.environ.get("POOL", "16")),
                               open=False)

    async def send_json(send, status: int, body: object) -> None:  # noqa: ANN001
        payload = orjson.dumps(body)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(payload)).encode())]})
        await send({"type": "http.response.body", "body": payload})

    async def earn(member_id: str, key: str, points: int) -> tuple[int, dict]:
        now = datetime.now(UTC)
        async with pool.connection() as conn, conn.transaction():
            cur = conn.cursor()
            await cur.execute(Q["claim_key"], {"scope": "floor:earn", "key": key, "sha": "x",
                                               "empty": Jsonb({}), "now": now})
            if await cur.fetchone() is None:
                return 409, {"code": "replay"}
            await cur.execute(Q["lock"], {"m": member_id, "cur": "points"})
            row = await cur.fetchone()
            if row is None:
                return 404, {"code": "member_not_found"}
            state = MemberPoints(Balance(*row[:4]))
            plan = plan_accrual(state, points, lot_id=new_id(), now=now)
            tx = new_id()
            delta = plan.balance_delta()
            async with conn.pipeline():
                await cur.execute(Q["insert_tx"], {
                    "member_id": member_id, "transaction_id": tx, "currency": "points",
                    "code": plan.code.value, "points": points, "created_at": now,
                    "effective_at": now, "reason": None, "author": "floor",
                    "partner_id": "default", "store_id": None, "receipt_id": None,
                    "hold_id": None, "reverses_id": None})
                await cur.executemany(Q["insert_entry"], [
                    {"member_id": member_id, "transaction_id": tx, "line": i,
                     "currency": "points", "account": e.account.value, "partner_id": "default",
                     "lot_id": e.lot_id, "amount": e.amount}
                    for i, e in enumerate(plan.entries)])
                lot = plan.new_lots[0]
                await cur.execute(Q["insert_lot"], {
                    "member_id": member_id, "lot_id": lot.lot_id, "currency": "points",
                    "amount": lot.amount, "available": lot.available, "pending": lot.pending,
                    "state": lot.state.value, "created_at": now, "expires_at": None,
                    "activates_at": None, "activation_event": None, "transaction_id": tx})
                await cur.execute(Q["update_balance"], {
                    "m": member_id, "cur": "points", "da": delta.available,
                    "dp": delta.pending, "dh": delta.held, "dd": delta.debt, "now": now})
                body = {"operation_id": tx, "member_id": member_id, "points": points,
                        "balance": {"available": row[0] + delta.available}}
                await cur.execute(Q["store_key"], {"status": 201, "response": Jsonb(body),
                                                   "member_id": member_id,
                                                   "scope": "floor:earn", "key": key})
            return 201, body

    async def app(scope, receive, send) -> None:  # noqa: ANN001
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await pool.open()
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await pool.close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        path = scope["path"]
        if path == "/readyz":
            await send_json(send, 200, {"status": "ready"})
            return
        headers = dict(scope["headers"])
        if headers.get(b"authorization") != token:
            await send_json(send, 401, {"code": "unauthorized"})
            return
        if not (path.startswith(PREFIX) and path.endswith(SUFFIX)):
            await send_json(send, 404, {"code": "not_found"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        points = orjson.loads(body)["points"]
        key = headers.get(b"idempotency-key", new_id().encode()).decode()
        status, result = await earn(path[len(PREFIX):-len(SUFFIX)], key, points)
        await send_json(send, status, result)

    return app
