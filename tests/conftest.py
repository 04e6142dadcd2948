"""Shared fixtures: every test gets its own SEGLAB_HOME so nothing touches ./runs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

# Two cores are shared by the test process and, in some tests, a worker subprocess.
torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def seglab_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty experiment store for one test."""
    home = tmp_path / "seglab-home"
    home.mkdir()
    monkeypatch.setenv("SEGLAB_HOME", str(home))
    return home


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny tensors: one thread is faster than two and leaves a core to the others.

    Use with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory):
    """Browser tests: the real app (`streamlit run app.py`) on a free port over an empty store,
    one server per test module."""
    from tests.browser_support import require_browser, streamlit_server

    require_browser()
    home = tmp_path_factory.mktemp("seglab-home")
    with streamlit_server(home) as url:
        yield url


@pytest.fixture(scope="module")
def browser(app_url):
    """Browser tests: headless Debian chromium, after the module's app server is up."""
    from tests.browser_support import chromium_browser

    with chromium_browser() as b:
        yield b
