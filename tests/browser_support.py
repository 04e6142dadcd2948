"""Real-browser test support: start `streamlit run app.py` on a free port, drive Debian's chromium.

Waits use Streamlit's own signal (the app root's `data-test-script-state` attribute), never sleeps.
When CI is set, a missing browser fails the run instead of skipping it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from seglab.ui.common import FOOTER_KEY

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = ROOT / "test-artifacts"


def require_browser() -> None:
    """Skip without chromium/playwright, except under CI where that is a failure."""
    missing = []
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        missing.append("Debian's chromium (/usr/bin/chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright Python package")
    if missing:
        message = "browser tests need " + " and ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(message + " (CI is set, so this is a failure, not a skip)")
        pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def streamlit_server(home: Path, timeout: float = 90.0) -> Iterator[str]:
    """Run the real app on localhost with its own SEGLAB_HOME; yield its base URL."""
    port = free_port()
    env = os.environ | {"SEGLAB_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    log = open(home / "streamlit.log", "w")  # noqa: SIM115 - closed below
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true"]
    cmd += ["--server.port", str(port), "--server.address", "127.0.0.1"]
    cmd += ["--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError("streamlit exited early:\n" + (home / "streamlit.log").read_text())
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("streamlit did not become healthy in time")
            time.sleep(0.2)  # polling the health endpoint, not waiting on the page
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@contextmanager
def chromium_browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def wait_idle(page, timeout_ms: int = 60_000) -> None:
    """Wait until Streamlit has finished the script run and drawn every element.

    `data-test-script-state=notRunning` is Streamlit's end-of-run signal; elements whose content
    is still on its way show as `stSkeleton` placeholders, so we wait for those to go too.
    """
    page.wait_for_function(
        """() => {
            const app = document.querySelector('[data-testid=stApp]');
            return app && app.dataset.testScriptState === 'notRunning'
                && !document.querySelector('[data-testid=stMain] [data-testid=stSkeleton]');
        }""",
        timeout=timeout_ms,
    )


def open_page(page, url: str, timeout_ms: int = 90_000) -> None:
    """Load a page and wait until its first script run is complete and drawn.

    The script-state attribute alone can say "notRunning" a moment before the last elements are
    drawn, so we also wait for the footer that app.py writes after every page.
    """
    page.goto(url, wait_until="domcontentloaded")
    # A page that raised never reaches the footer: its exception box ends the wait instead.
    page.wait_for_selector(f".st-key-{FOOTER_KEY}, [data-testid=stException]", timeout=timeout_ms)
    wait_idle(page, timeout_ms)
