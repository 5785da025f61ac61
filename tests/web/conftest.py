"""Browser tests: the real application served by uvicorn on a free port against the test PostgreSQL
database (users, processes, survey team and county authorization from tests/api/conftest.py), driven
by Playwright through Debian's Chromium. Every page visited is checked for console errors, page errors,
failed requests and unexpected HTTP errors; screenshots go to artifacts/web/<test>/."""

from __future__ import annotations

import itertools
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect, sync_playwright

from api.auth.models import User
from api.auth.passwords import hash_password
from canbao.config import PROJECT_ROOT
from registry import imports

from ..api.conftest import PASSWORD, SYSTEM, api  # noqa: F401 (the `api` fixture, reused)
from ..engine.office import id_number
from ..registry.helpers import POP_HEADER, csv_bytes, pop_row

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
ARTIFACTS = PROJECT_ROOT / "artifacts" / "web"
DESKTOP = {"width": 1366, "height": 768}
# Generous waits: the suite shares two cores with everything else; a slow step waits, a wrong one fails.
TIMEOUT_MS = 20_000
expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture
def server(api) -> Iterator[str]:  # noqa: F811
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(api.client.app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)
    sock.close()


# Local demo citizens (单位或个人): they sign in with their 公民身份号码; the registry holds their record as
# the public-security import left it (no phone, residence or employment yet: items to remind them of).
CITIZENS = {id_number("19880306", "721"): "张小民", id_number("19930915", "742"): "李晓华"}


@pytest.fixture
def citizens(api) -> dict[str, str]:  # noqa: F811
    rows = [pop_row(number, name) for number, name in CITIZENS.items()]
    with api.db.sessions() as s, s.begin():
        imports.import_file(
            s, actor=SYSTEM, kind="population", filename="citizens.csv", content=csv_bytes(POP_HEADER, rows)
        )
        for number, name in CITIZENS.items():
            s.add(
                User(
                    username=number,
                    name=name,
                    password_hash=hash_password(PASSWORD),
                    roles=["citizen"],
                    area="",
                )
            )
    return CITIZENS


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


class Office:
    """One browser context on the served app, recording everything that goes wrong on its pages."""

    def __init__(self, browser: Browser, base: str, shots: Path, counter: Iterator[int], **context) -> None:
        self.base, self.shots, self.counter = base, shots, counter
        self.context = browser.new_context(
            base_url=base, locale="zh-CN", timezone_id="Asia/Shanghai", **{"viewport": DESKTOP, **context}
        )
        self.context.set_default_timeout(TIMEOUT_MS)
        self.page: Page = self.context.new_page()
        self.problems: list[str] = []
        self.http_errors: list[tuple[int, str]] = []
        self.expected: list[tuple[int, str]] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda err: self.problems.append(f"page error: {err}"))
        self.page.on("requestfailed", self._failed)
        self.page.on("response", self._response)

    def _failed(self, request) -> None:
        # ERR_ABORTED: the browser itself gave the request up because the page navigated on (a favicon
        # still loading when the user signs out) — not a failure of the office.
        if request.failure != "net::ERR_ABORTED":
            self.problems.append(f"request failed: {request.url} {request.failure}")

    def _console(self, msg) -> None:
        if msg.type != "error":
            return
        text = msg.text
        status = re.search(r"status of (\d{3})", text)
        url = msg.location.get("url", "")
        if status and self._expected(int(status.group(1)), url):
            return
        self.problems.append(f"console error: {text} ({url})")

    def _response(self, response) -> None:
        if response.status >= 400 and not self._expected(response.status, response.url):
            self.http_errors.append((response.status, response.url))

    def _expected(self, status: int, url: str) -> bool:
        return any(status == s and part in url for s, part in self.expected)

    def expect_error(self, status: int, url_part: str) -> None:
        """An HTTP error the test provokes on purpose (a refused submission, a wrong password)."""
        self.expected.append((status, url_part))

    def assert_clean(self) -> None:
        self.page.wait_for_load_state("networkidle")
        assert not self.problems, self.problems
        assert not self.http_errors, self.http_errors

    def shot(self, name: str) -> None:
        """Screenshot the page as an artifact, after checking that nothing went wrong on it and that it
        fits the window's width (wide tables scroll inside their own box, never the page)."""
        self.assert_clean()
        overflow = self.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name}: the page is {overflow}px wider than the window"
        self.shots.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=self.shots / f"{next(self.counter):02d}-{name}.png", full_page=True)

    def login(self, username: str, password: str = PASSWORD, *, shown_as: str | None = None) -> Page:
        page = self.page
        page.goto("/login")
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill(password)
        page.get_by_role("button", name="登录").click()
        expect(page.locator("header .who-name")).to_have_text(shown_as or username)
        self.assert_clean()  # the landing page loaded completely and cleanly
        return page

    def logout(self) -> None:
        self.page.get_by_role("button", name="退出").click()
        expect(self.page).to_have_url(re.compile(r"/login$"))

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def office(browser, server, request) -> Iterator:
    """Open an office (a fresh browser context) with `office()`; all are checked and closed at the end."""
    opened: list[Office] = []
    shots, counter = ARTIFACTS / request.node.name, itertools.count(1)

    def open_office(**context) -> Office:
        o = Office(browser, server, shots, counter, **context)
        opened.append(o)
        return o

    yield open_office
    try:
        for o in opened:
            o.assert_clean()
    finally:
        for o in opened:
            o.close()
