"""End-to-end fixtures: the real FastAPI app over a real database, driven through HTTP.

`api` builds `create_app` on the shared `kopilka` fixture (SQLite and PostgreSQL), creates one
API key per role, and offers small helpers: authenticated requests (every response is checked
to be below 500), enrolment, row counts of every table (to prove a refused request wrote
nothing) and problem+json assertions. `shared_api` is the same on one database per module,
for the many cases of refused requests.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from kopilka.adapters.sql.tables import metadata
from kopilka.app.library import Kopilka
from kopilka.app.ports import FixedClock
from kopilka.config import Settings
from kopilka.entrypoints.http.app import create_app
from kopilka.entrypoints.http.auth import create_key
from tests.conftest import START, _create_pg_database, _drop_pg_database, make_library

PROBLEM_JSON = "application/problem+json"
STORE = "msk-001"
OTHER_STORE = "msk-002"
FOREIGN_STORE = "spb-001"  # belongs to another partner

# role -> (scopes, bound store)
ROLES: dict[str, tuple[list[str], str | None]] = {
    "admin": (["admin"], None),
    "pos": (["pos"], None),
    "read": (["members:read"], None),
    "write": (["members:write"], None),
    # a till key bound to one store; it also enrols (enrolment needs members:write)
    "store_pos": (["pos", "members:write"], STORE),
}

_phone_serials = iter(range(1_000_000, 10_000_000))


def new_phone() -> str:
    """A distinct valid Russian mobile number per call, as people type it: 8 (916) 123-45-67."""
    n = f"{next(_phone_serials):07d}"
    return f"8 (916) {n[:3]}-{n[3:5]}-{n[5:]}"


def e164(phone: str) -> str:
    """What kopilka stores for a number typed as by `new_phone`."""
    return "+7" + "".join(ch for ch in phone if ch.isdigit())[1:]


def row_counts(kopilka: Kopilka) -> dict[str, int]:
    """Rows in every table of the schema."""
    with kopilka.db.engine.connect() as conn:
        return {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                for t in metadata.sorted_tables}


def assert_problem(response: httpx.Response, status: int, code: str | None = None) -> dict:
    """The response is an RFC 9457 problem with this status (and code)."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    body = response.json()
    assert body["status"] == status
    assert isinstance(body["type"], str) and body["type"]
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"].strip()
    assert isinstance(body["code"], str) and body["code"]
    if code is not None:
        assert body["code"] == code, body
    return body


@dataclass
class Api:
    client: TestClient
    lib: Kopilka
    clock: FixedClock
    keys: dict[str, str] = field(default_factory=dict)

    def headers(self, role: str | None, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {} if role is None else {"Authorization": f"Bearer {self.keys[role]}"}
        return {**headers, **(extra or {})}

    def request(self, method: str, path: str, *, as_: str | None = "admin",
                headers: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        response = self.client.request(method, path, headers=self.headers(as_, headers),
                                       **kwargs)
        assert response.status_code < 500, (method, path, response.status_code, response.text)
        return response

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    def counts(self) -> dict[str, int]:
        return row_counts(self.lib)

    def enrol(self, phone: str | None = None, *, as_: str = "admin", **fields: Any) -> dict:
        body = {"phone": phone or new_phone(), "consents": {"personal_data": True}, **fields}
        response = self.post("/v1/members", json=body, as_=as_)
        assert response.status_code == 201, response.text
        return response.json()

    def earn(self, member_id: str, points: int, **fields: Any) -> dict:
        response = self.post(f"/v1/members/{member_id}/points/earn",
                             json={"points": points, **fields}, as_="pos")
        assert response.status_code == 201, response.text
        return response.json()

    def balance(self, member_id: str) -> dict:
        response = self.get(f"/v1/members/{member_id}/balance", as_="read")
        assert response.status_code == 200, response.text
        return response.json()


@contextmanager
def serve(kopilka: Kopilka, db_url: str, clock: FixedClock) -> Iterator[Api]:
    """The app on this library, with stores, a foreign partner and one API key per role."""
    with kopilka.db.write() as uow:
        uow.members.add_store(STORE, "main", "Moscow 1")
        uow.members.add_store(OTHER_STORE, "main", "Moscow 2")
        uow.members.add_partner("other", "Other brand", clock.now())
        uow.members.add_store(FOREIGN_STORE, "other", "Saint Petersburg 1")
    keys = {role: create_key(kopilka.db, name=f"e2e-{role}", partner_id="main", scopes=scopes,
                             now=clock.now(), store_id=store)
            for role, (scopes, store) in ROLES.items()}
    settings = Settings(database_url=db_url, env="test", otp_sender="memory")
    app = create_app(kopilka, settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client, kopilka, clock, keys)


@pytest.fixture
def api(kopilka: Kopilka, db_url: str, clock: FixedClock) -> Iterator[Api]:
    """A fresh database per test (SQLite and PostgreSQL) behind the HTTP app."""
    with serve(kopilka, db_url, clock) as served:
        yield served


@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def shared_api(request: pytest.FixtureRequest,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """One database per module and database kind, for tests that only make refused requests
    (each checks that it wrote nothing, so sharing cannot hide a leak)."""
    admin = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('e2e') / 'kopilka.db'}"
    else:
        url, admin = _create_pg_database()
    clock = FixedClock(START)
    lib = make_library(url, clock)
    try:
        with serve(lib, url, clock) as served:
            yield served
    finally:
        lib.db.dispose()
        if admin is not None:
            _drop_pg_database(admin, url)
