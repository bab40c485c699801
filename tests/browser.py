"""A live server and Debian's chromium driven by Playwright, for the few journeys through a browser."""
from __future__ import annotations

import shutil
import threading

import pytest
from werkzeug.serving import make_server

from conftest import need_service

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    # Every test host resolves to this machine.
    "--host-resolver-rules=MAP * 127.0.0.1",
]


class LiveServer:
    def __init__(self, application):
        self.server = make_server("127.0.0.1", 0, application, threaded=True)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, hostname: str, path: str = "/") -> str:
        return f"http://{hostname}:{self.port}{path}"

    def stop(self):
        self.server.shutdown()


@pytest.fixture
def live_server(make_app):
    server = LiveServer(make_app(PREFERRED_URL_SCHEME="http"))
    yield server
    server.stop()


_SHARED: dict = {"users": 0}


@pytest.fixture(scope="session")
def chromium():
    """One Chromium for the whole session.

    Every module that imports this fixture gets its own session fixture; Playwright's sync
    API allows only one running instance per thread, so they all share one browser, closed
    when the last of them is torn down.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the test extra installs it
        need_service("Chromium", False, "pip install playwright")
    need_service("Chromium", bool(shutil.which("chromium")), "apt-get install chromium")
    if "browser" not in _SHARED:
        playwright = sync_playwright().start()
        _SHARED["playwright"] = playwright
        _SHARED["browser"] = playwright.chromium.launch(executable_path=CHROMIUM,
                                                        args=CHROMIUM_ARGS)
    _SHARED["users"] += 1
    try:
        yield _SHARED["browser"]
    finally:
        _SHARED["users"] -= 1
        if _SHARED["users"] == 0:
            _SHARED.pop("browser").close()
            _SHARED.pop("playwright").stop()
