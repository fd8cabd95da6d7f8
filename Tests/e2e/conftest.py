"""Browser end-to-end tests: a real `portal demo` process and headless Chromium driven by Selenium.

Nothing is built here: scripts/test.sh runs `swift build --build-tests` first, which leaves the
binary at .build/debug/portal (or run `swift build --product portal`).
"""

import dataclasses
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

REPO = Path(__file__).resolve().parents[2]
PORTAL = REPO / ".build" / "debug" / "portal"
ARTIFACTS = REPO / "test-artifacts"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM = "/usr/bin/chromium"
STARTUP_TIMEOUT = 60
INVITE_LINE = re.compile(r"Invited:\s+carol@example\.com\s+—\s+accept at\s+(\S+)")


@dataclasses.dataclass
class Portal:
    base_url: str
    carol_invite_link: str
    mail_dir: Path
    workdir: Path
    process: subprocess.Popen
    stdout_path: Path
    stderr_path: Path
    creatio_url: str = ""

    def log(self) -> str:
        """The server's standard output (the demo banner) and standard error (its log)."""
        parts = []
        for name, path in (("stdout", self.stdout_path), ("stderr", self.stderr_path)):
            text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
            parts.append(f"--- portal {name} ---\n{text}")
        return "\n".join(parts)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="session")
def portal(request):
    if not os.access(PORTAL, os.X_OK):
        pytest.fail(f"{PORTAL} not found: build it first (swift build --product portal)")

    workdir = Path(tempfile.mkdtemp(prefix="portal-e2e-"))
    port = _free_port()
    sandbox_port = _free_port()
    while sandbox_port == port:
        sandbox_port = _free_port()
    creatio_port = _free_port()
    while creatio_port in (port, sandbox_port):
        creatio_port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    stdout_path = workdir / "portal.stdout"
    stderr_path = workdir / "portal.stderr"
    # The demo must see only its own defaults, not a developer's PORTAL_* settings.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        process = subprocess.Popen(
            [str(PORTAL), "demo", "--bind", f"127.0.0.1:{port}", "--sandbox-port", str(sandbox_port),
             "--creatio-port", str(creatio_port), "--resources", str(REPO)],
            cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
        )
    server = Portal(base_url=base_url, carol_invite_link="", mail_dir=workdir / "var" / "mail",
                    workdir=workdir, process=process, stdout_path=stdout_path, stderr_path=stderr_path,
                    creatio_url=f"http://127.0.0.1:{creatio_port}")
    request.config._portal_server = server

    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not _healthy(base_url + "/healthz"):
            if process.poll() is not None:
                pytest.fail(f"portal demo exited with status {process.returncode} before serving\n{server.log()}")
            if time.monotonic() > deadline:
                pytest.fail(f"portal demo did not answer {base_url}/healthz within {STARTUP_TIMEOUT} s\n{server.log()}")
            time.sleep(0.2)

        # The banner is written before the server starts listening, so it is complete by now.
        match = INVITE_LINE.search(stdout_path.read_text(encoding="utf-8"))
        if not match:
            pytest.fail(f"no invitation link for carol@example.com in the demo banner\n{server.log()}")
        server.carol_invite_link = match.group(1)
        assert server.carol_invite_link.startswith(base_url + "/invite/"), server.carol_invite_link

        yield server
    finally:
        _stop(process)
        ARTIFACTS.mkdir(exist_ok=True)
        shutil.copyfile(stderr_path, ARTIFACTS / "e2e-portal.log")
        failed = request.session.testsfailed > 0
        if failed:
            # Shown in the terminal summary (see pytest_terminal_summary) and kept for CI.
            request.config._portal_failure_log = server.log()
        if process.returncode not in (0, -signal.SIGTERM):
            request.config._portal_failure_log = (
                f"portal exited with status {process.returncode}\n{server.log()}")
        shutil.rmtree(workdir, ignore_errors=True)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "after_browser_tests: runs after every other test of the session, whatever the file order "
                   "(for checks of what the browser tests left behind)")


def pytest_collection_modifyitems(session, config, items):
    # A stable sort: everything else keeps its order.
    items.sort(key=lambda item: item.get_closest_marker("after_browser_tests") is not None)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
    # Put the server's log beside each failure, where it is needed.
    server = getattr(item.config, "_portal_server", None)
    if report.failed and server is not None:
        report.sections.append(("portal log", server.log()))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    log = getattr(config, "_portal_failure_log", None)
    if log:
        terminalreporter.section("portal demo output")
        terminalreporter.write_line(log)


@pytest.fixture
def browser(request):
    options = webdriver.ChromeOptions()
    if os.path.exists(CHROMIUM):
        options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            ARTIFACTS.mkdir(exist_ok=True)
            name = re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name)
            try:
                driver.save_screenshot(str(ARTIFACTS / f"{name}-failure.png"))
                (ARTIFACTS / f"{name}-failure.html").write_text(driver.page_source, encoding="utf-8")
            except Exception:  # the browser may be what failed
                pass
        driver.quit()
