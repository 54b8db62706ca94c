"""Browser tests: the real server on the demo data, driven by Debian's headless Chromium.

- `site`: one `kopilka serve`-equivalent (uvicorn in a thread, the full app) per test session
  on a fresh SQLite database holding the demo (300 members, a year of receipts) and one console
  account per role (`kopilka demo`'s; password `DEMO_STAFF_PASSWORD`).
- `browser`: Chromium at /usr/bin/chromium (never downloaded), launched headless with
  --no-sandbox --disable-gpu --disable-background-networking. Missing: skipped locally, a
  failure under CI=true (scripts/ensure-browser.sh installs it there).
- `open_page(role=None, width=1280)`: a fresh browser context (its own cookies), signed in as
  a staff role when given; returns a `Browsing` whose `visit(path, name)` loads a page,
  asserts it rendered in under a second (Navigation Timing: load event end), saves a
  screenshot to build/browser/<test>--<name>.png and records the timing in
  build/browser/timings.jsonl. At the end of the test the fixture fails it if the browser
  logged any console error or page error.

All tests here run on one xdist worker (group "browser"): one server, one browser.
"""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from kopilka.app.library import Kopilka
from kopilka.bootstrap import build, init_database
from kopilka.config import Settings
from kopilka.entrypoints.cli.demo import demo_staff, generate
from kopilka.entrypoints.http.app import create_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTEFACTS = Path(__file__).resolve().parents[2] / "build" / "browser"
PAGE_BUDGET_MS = 1000.0
RELOADS = 3  # loads of a page over budget before it counts as slow (`Browsing.measure`)
RELOAD_PAUSE_S = 0.3
DEMO_MEMBERS = 300


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.xdist_group("browser"))


@dataclass
class Site:
    url: str
    lib: Kopilka
    api_key: str
    passwords: dict[str, str]

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        """A call to the site's HTTP API with the demo's all-scopes key."""
        import httpx
        headers = {"Authorization": f"Bearer {self.api_key}", **kwargs.pop("headers", {})}
        response = httpx.request(method, self.url + path, headers=headers, timeout=30, **kwargs)
        assert response.status_code < 500, response.text
        return response


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session", autouse=True)
def fresh_timings() -> None:
    """build/browser/timings.jsonl holds this run's page timings only."""
    (ARTEFACTS / "timings.jsonl").unlink(missing_ok=True)


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    url = f"sqlite:///{tmp_path_factory.mktemp('site') / 'kopilka.db'}"
    settings = Settings(database_url=url, env="test", otp_sender="memory")
    lib = build(settings)
    init_database(lib.db)  # type: ignore[arg-type]
    api_key = generate(lib, members=DEMO_MEMBERS, seed=7, advance=lambda: None)
    passwords = demo_staff(lib)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(lib, settings), host="127.0.0.1",
                                           port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield Site(f"http://127.0.0.1:{port}", lib, api_key, passwords)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        lib.db.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing under CI=true (scripts/ensure-browser.sh)")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install -y chromium chromium-driver)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                              headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Browsing:
    """One browser context (its own cookies) and what it saw."""

    site: Site
    page: Any
    test_name: str
    errors: list[str] = field(default_factory=list)
    timings: list[dict[str, Any]] = field(default_factory=list)

    def visit(self, path: str, name: str | None = None, *, budget_ms: float = PAGE_BUDGET_MS,
              expect_status: int = 200) -> Any:
        """Load a page, check its status and render time, save its screenshot."""
        response = self.page.goto(self.site.url + path, wait_until="load")
        assert response is not None and response.status == expect_status, \
            (path, response and response.status)
        self.measure(name or path, budget_ms=budget_ms)
        return response

    def measure(self, name: str, *, budget_ms: float = PAGE_BUDGET_MS) -> float:
        """Render time of the page now shown (after a visit, a click or a form post), then
        its screenshot. A page over budget is loaded again, up to `RELOADS` times, a moment
        apart, before it counts as slow: the 2-core machine runs the other tests beside this
        one (seen: a dashboard at 1.24 s, then 0.75 s), and the best load is what the page
        costs. The best of them is recorded."""
        self.page.wait_for_load_state("load")
        took = self._load_ms()
        for _ in range(RELOADS):
            if took <= budget_ms or not self.page.url.startswith(self.site.url):
                break
            time.sleep(RELOAD_PAUSE_S)
            self.page.reload(wait_until="load")
            took = min(took, self._load_ms())
        self.screenshot(name)
        record = {"test": self.test_name, "page": name, "url": self.page.url,
                  "load_ms": round(took, 1), "width": self.page.viewport_size["width"]}
        self.timings.append(record)
        assert took < budget_ms, f"{name} rendered in {took:.0f} ms (budget {budget_ms:.0f})"
        return took

    def _load_ms(self) -> float:
        return float(self.page.evaluate(
            "() => { const n = performance.getEntriesByType('navigation')[0];"
            " return n ? n.loadEventEnd - n.startTime : 0; }"))

    def screenshot(self, name: str) -> Path:
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{self.test_name}--{name}").strip("_")[:150]
        path = ARTEFACTS / f"{safe}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def sign_in(self, role: str) -> None:
        self.page.goto(self.site.url + "/console/sign-in", wait_until="load")
        self.page.fill("input[name=login]", role)
        self.page.fill("input[name=password]", self.site.passwords[role])
        self.page.click("button[type=submit]")
        self.page.wait_for_load_state("load")
        assert "/sign-in" not in self.page.url, f"{role} could not sign in"


@pytest.fixture
def open_page(site: Site, browser: Any, request: pytest.FixtureRequest,
              ) -> Iterator[Callable[..., Browsing]]:
    opened: list[tuple[Any, Browsing]] = []
    test_name = request.node.name

    def open_(role: str | None = None, *, width: int = 1280, height: int = 800,
              language: str = "en") -> Browsing:
        context = browser.new_context(viewport={"width": width, "height": height},
                                      locale="ru-RU" if language == "ru" else "en-US",
                                      extra_http_headers={"Accept-Language": language})
        page = context.new_page()
        page.set_default_timeout(15_000)
        browsing = Browsing(site, page, test_name)
        page.on("console", lambda msg: browsing.errors.append(f"console: {msg.text}")
                if msg.type == "error" and not _expected(msg) else None)
        page.on("pageerror", lambda exc: browsing.errors.append(f"page error: {exc}"))
        opened.append((context, browsing))
        if role is not None:
            browsing.sign_in(role)
        return browsing

    yield open_
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    with (ARTEFACTS / "timings.jsonl").open("a") as log:
        for context, browsing in opened:
            for record in browsing.timings:
                log.write(json.dumps(record) + "\n")
            context.close()
    errors = [e for _c, b in opened for e in b.errors]
    assert not errors, "the browser reported errors:\n" + "\n".join(errors)


def _expected(message: Any) -> bool:
    """A page a test is refused on purpose (a 4xx document: Chromium logs it as an error).
    A missing script, style or image under /static is never expected."""
    url = (message.location or {}).get("url", "")
    return "/static/" not in url and bool(re.search(
        r"Failed to load resource: the server responded with a status of 4\d\d", message.text))
