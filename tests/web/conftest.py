"""Web page tests without a browser: the real app over both databases, through HTTP.

`web` gives the app on the shared `kopilka` fixture (SQLite and PostgreSQL) with one console
account per role (login = role name, password `PASSWORD`). `web.client(role)` returns a
client signed in as that role (its own cookies) whose `csrf` is the session's CSRF token;
`web.post(client, path, data)` posts a form with that token. `row_counts` (from the e2e
tests) proves a refused request wrote nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from kopilka.app.library import Kopilka
from kopilka.app.ports import FixedClock
from kopilka.config import Settings
from kopilka.domain.staff import Role
from kopilka.entrypoints.http.app import create_app

PASSWORD = "console-test-password"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
FORM_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


class SignedIn(TestClient):
    csrf: str = ""
    role: str = ""


@dataclass
class Web:
    lib: Kopilka
    clock: FixedClock
    app: Any
    staff_ids: dict[str, str]

    def client(self, role: str | None = None) -> SignedIn:
        client = SignedIn(self.app, base_url="https://testserver", follow_redirects=False)
        client.headers["Accept-Language"] = "en"
        if role is not None:
            self.sign_in(client, role)
        return client

    def sign_in(self, client: SignedIn, login: str, password: str = PASSWORD) -> httpx.Response:
        page = client.get("/console/sign-in")
        token = FORM_TOKEN.search(page.text).group(1)  # type: ignore[union-attr]
        response = client.post("/console/sign-in", data={
            "login": login, "password": password, "form_token": token, "next": "/console/"})
        if response.status_code == 303:
            home = client.get("/console/", follow_redirects=True)
            client.csrf = CSRF.search(home.text).group(1)  # type: ignore[union-attr]
            client.role = login
        return response

    def post(self, client: SignedIn, path: str, data: dict[str, Any] | None = None,
             **kwargs: Any) -> httpx.Response:
        """A form post with the session's CSRF token (as the pages send it)."""
        response = client.post(path, data={**(data or {}), "csrf_token": client.csrf},
                               **kwargs)
        assert response.status_code < 500, (path, response.status_code, response.text[:2000])
        return response


@pytest.fixture
def web(kopilka: Kopilka, clock: FixedClock) -> Iterator[Web]:
    ids = {}
    for role in Role:
        made = kopilka.create_staff(login=role.value, password=PASSWORD, role=role.value,
                                    display_name=f"Test {role.value}")
        ids[role.value] = made["staff_id"]
    settings = Settings(database_url="sqlite://", env="test", otp_sender="memory")
    yield Web(kopilka, clock, create_app(kopilka, settings), ids)
