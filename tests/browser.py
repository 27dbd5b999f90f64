"""Browser test harness: the real app as a subprocess, and Debian's chromium driven by Playwright.

Import the fixtures into a test module (``from browser import app_server, browser, page  # noqa: F401``).

- ``app_server`` starts ``python app.py`` on a free port with KB_DATA_DIR set to the session's index
  (KB_TEST_DATA_DIR, else conftest.py's ``built_settings``, else a temp dir the app builds into), waits
  for HTTP 200 and for the index to be ready, and stops the server at the end. KB_TEST_APP_URL points
  the tests at an app that is already running instead.
- ``browser`` launches /usr/bin/chromium (``playwright install`` cannot download here) with flags that
  keep it off the network; ``page`` is a fresh page per test that refuses any request not to the app.

Without chromium (or playwright) the browser tests skip, unless KB_REQUIRE_BROWSER=1 (set by `make test`):
then they fail.

Never wait for "networkidle": gradio keeps a connection open for its heartbeat.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = os.environ.get("KB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
]
START_TIMEOUT_S = float(os.environ.get("KB_TEST_START_TIMEOUT", "1500"))  # a first index build takes minutes
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def free_port() -> int:
    """A TCP port that is free on the loopback interface right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_status(url: str, timeout: float = 2.0) -> int | None:
    """HTTP status of a GET, or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status
    except urllib.error.HTTPError as e:
        return e.code
    except (OSError, ValueError):
        return None


@dataclass
class AppServer:
    """A running app subprocess."""

    url: str
    port: int
    proc: subprocess.Popen | None
    log_path: Path
    data_dir: Path
    corpus_dir: Path | None = None
    timings: dict[str, float] = field(default_factory=dict)

    def log_text(self) -> str:
        """The server's console output so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        """Stop the server (SIGTERM, which the app handles like Ctrl+C; SIGKILL after 10 s)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def start_app(
    data_dir: Path,
    log_path: Path,
    *,
    admin_password: str = "",
    corpus_dir: Path | None = None,
    ready_marker: str = "知识库已就绪",
    timeout_s: float = START_TIMEOUT_S,
) -> AppServer:
    """Start ``python app.py`` on a free port; return once it answers 200 and has opened its index."""
    port = free_port()
    env = dict(os.environ)
    env.update(
        KB_DATA_DIR=str(data_dir),
        KB_HOST="127.0.0.1",
        KB_PORT=str(port),
        KB_ADMIN_PASSWORD=admin_password,
        GRADIO_ANALYTICS_ENABLED="False",
        HF_HUB_OFFLINE="1",
        PYTHONUNBUFFERED="1",
    )
    for name in ("KB_LLM_BASE_URL", "KB_LLM_MODEL", "KB_CHROMA_URL"):
        env.pop(name, None)  # the browser tests exercise the offline, embedded configuration
    if corpus_dir is not None:
        env["KB_CORPUS_DIR"] = str(corpus_dir)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_fh = log_path.open("w", encoding="utf-8")
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py")], cwd=ROOT, env=env, stdout=log_fh, stderr=subprocess.STDOUT
    )
    server = AppServer(f"http://127.0.0.1:{port}", port, proc, log_path, data_dir, corpus_dir)
    deadline = t0 + timeout_s
    try:
        while http_status(server.url + "/") != 200:
            if proc.poll() is not None:
                raise RuntimeError(f"app exited with {proc.returncode}:\n{server.log_text()[-4000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"app did not answer within {timeout_s:.0f}s:\n{server.log_text()[-4000:]}")
            time.sleep(0.25)
        server.timings["http_200_s"] = time.monotonic() - t0
        while ready_marker not in server.log_text():
            if proc.poll() is not None:
                raise RuntimeError(f"app exited with {proc.returncode}:\n{server.log_text()[-4000:]}")
            if "索引加载失败" in server.log_text() or time.monotonic() > deadline:
                raise RuntimeError(f"index not ready:\n{server.log_text()[-4000:]}")
            time.sleep(0.5)
        server.timings["ready_s"] = time.monotonic() - t0
    except BaseException:
        server.stop()
        log_fh.close()
        raise
    return server


def _session_data_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The KB_DATA_DIR the app serves: KB_TEST_DATA_DIR when set (an index you built, for quick reruns),
    else the session's full index from conftest.py's ``built_settings``, else an empty temp dir (the app
    then builds the index itself at start)."""
    if os.environ.get("KB_TEST_DATA_DIR"):
        return Path(os.environ["KB_TEST_DATA_DIR"])
    try:
        return Path(request.getfixturevalue("built_settings").data_dir)
    except pytest.FixtureLookupError:
        return tmp_path_factory.mktemp("kb-data")


def record_metric(name: str, value: object) -> None:
    """Append a measurement to tests/artifacts/webui_metrics.json (read by the person reporting)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "webui_metrics.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    data[name] = value
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")


def browser_required() -> bool:
    """Whether a missing browser fails the tests instead of skipping them (KB_REQUIRE_BROWSER=1, set by
    `make test`, which installs chromium first)."""
    return os.environ.get("KB_REQUIRE_BROWSER", "") == "1"


def skip_without_browser(reason: str) -> None:
    """Skip the test for want of the browser, or fail it when the browser is required."""
    if browser_required():
        pytest.fail(f"{reason} (KB_REQUIRE_BROWSER=1: the browser tests must run)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def app_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """The public app (no admin password) over the session's index (KB_TEST_APP_URL: one already running)."""
    if not Path(CHROMIUM).exists():
        skip_without_browser(f"{CHROMIUM} is not installed (apt-get install chromium fonts-noto-cjk)")
    if os.environ.get("KB_TEST_APP_URL"):  # develop against an app that is already running
        url = os.environ["KB_TEST_APP_URL"].rstrip("/")
        yield AppServer(url, int(urlparse(url).port or 80), None, ARTIFACTS / "app-public.log", Path("."))
        return
    data_dir = _session_data_dir(request, tmp_path_factory)
    server = start_app(data_dir, ARTIFACTS / "app-public.log")
    record_metric("server_http_200_s", round(server.timings["http_200_s"], 2))
    record_metric("server_ready_s", round(server.timings["ready_s"], 2))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def admin_server(
    app_server: AppServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AppServer]:
    """An app with KB_ADMIN_PASSWORD over copies of the corpus and index, so uploads touch nothing shared."""
    base = tmp_path_factory.mktemp("kb-admin")
    corpus = base / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    data = base / "data"
    data.mkdir()
    src = app_server.data_dir
    if (src / "index").is_dir():
        shutil.copytree(src / "index", data / "index", ignore=shutil.ignore_patterns(".lock"))
    if (src / "models").is_dir():
        (data / "models").symlink_to((src / "models").resolve(), target_is_directory=True)
    server = start_app(data, ARTIFACTS / "app-admin.log", admin_password=ADMIN_PASSWORD, corpus_dir=corpus)
    yield server
    server.stop()


ADMIN_PASSWORD = "测试-Admin-密码-42"


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Headless Debian chromium through Playwright (sync API)."""
    try:
        from playwright import sync_api
    except ImportError:
        skip_without_browser("playwright is not installed (pip install -e '.[test]')")
    if not Path(CHROMIUM).exists():
        skip_without_browser(f"{CHROMIUM} is not installed (apt-get install chromium fonts-noto-cjk)")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


class PageSession:
    """A page with its dialogs, console errors and off-machine request attempts recorded."""

    def __init__(self, browser: object, viewport: dict[str, int]) -> None:
        self.context = browser.new_context(viewport=viewport, locale="zh-CN")
        self.context.grant_permissions(["clipboard-read", "clipboard-write"])
        self.page = self.context.new_page()
        self.dialogs: list[str] = []
        self.external: list[str] = []
        self.errors: list[str] = []
        self.page.on("dialog", self._on_dialog)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.context.route("**/*", self._route)

    def _on_dialog(self, dialog: object) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def _route(self, route: object) -> None:
        host = urlparse(route.request.url).hostname or ""
        if route.request.url.startswith(("data:", "blob:")) or host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            self.external.append(route.request.url)
            route.abort()

    def close(self) -> None:
        """Close the page's context."""
        self.context.close()


@pytest.fixture
def page_session(browser: object) -> Iterator[PageSession]:
    """A fresh desktop-sized page session."""
    session = PageSession(browser, DESKTOP)
    yield session
    session.close()


@pytest.fixture
def phone_session(browser: object) -> Iterator[PageSession]:
    """A fresh phone-width (390 px) page session."""
    session = PageSession(browser, PHONE)
    yield session
    session.close()


def shot(page: object, name: str, full_page: bool = True) -> Path:
    """Save a screenshot under tests/artifacts/ and return its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def open_app(page: object, url: str, timeout_ms: float = 60_000) -> float:
    """Load the app and wait until the question box and the populated tabs are there; returns seconds."""
    t0 = time.monotonic()
    page.goto(url, wait_until="load", timeout=timeout_ms)
    page.locator("#kb-question textarea").wait_for(state="visible", timeout=timeout_ms)
    page.locator("#tab-chat").wait_for(state="attached", timeout=timeout_ms)
    return time.monotonic() - t0


def select_tab(page: object, label: str, tries: int = 3) -> None:
    """Click the tab button with this label until it is the selected one (a click before the page's scripts are
    ready is lost; the full suite on a busy machine showed it once); at phone width it may sit in the overflow menu."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    tab = page.get_by_role("tab", name=label)
    for _ in range(tries):
        if tab.count():
            tab.click()
        else:  # at phone width gradio moves the tabs that do not fit into its "More tabs" menu
            page.get_by_role("button", name="More tabs").click()
            page.locator(".overflow-dropdown button").filter(has_text=label).first.click()
            tab.wait_for(timeout=10_000)
        try:
            page.wait_for_function(
                "el => el.getAttribute('aria-selected') === 'true'", arg=tab.element_handle(), timeout=10_000
            )
            return
        except PlaywrightTimeout:
            continue
    raise AssertionError(f"tab {label!r} did not open after {tries} clicks")


def choose(page: object, elem_id: str, option: str, exact: bool = True, timeout_ms: float = 15_000) -> None:
    """Pick ``option`` in a gradio Dropdown (elem_id without '#'); ``exact=False`` takes the first option
    whose label contains it."""
    box = page.locator(f"#{elem_id} input")
    box.click()
    box.fill(option)
    if exact:
        page.get_by_role("option", name=option, exact=True).first.click(timeout=timeout_ms)
    else:
        page.get_by_role("option").filter(has_text=option).first.click(timeout=timeout_ms)
