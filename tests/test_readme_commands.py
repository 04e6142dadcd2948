"""The README's two set-up commands are the ones CI runs, so they cannot drift apart."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from tests.conftest import ROOT


def readme_commands() -> list[str]:
    """Every command line inside a ```bash block of the README's set-up section."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Set up on a fresh machine", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def test_readme_has_exactly_two_setup_commands() -> None:
    commands = readme_commands()
    assert len(commands) == 2, commands
    app, tests = commands
    assert app.endswith("streamlit run app.py")
    assert "requirements.txt" in app
    assert "pytest" in tests and "requirements-dev.txt" in tests


def test_ci_runs_the_readme_test_command() -> None:
    test_command = readme_commands()[1]
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert test_command in ci_lines, "CI must run the README's test command verbatim"
    assert any("apt-get install" in line and "chromium" in line for line in ci_lines)


def test_torch_is_pinned_and_torchvision_is_not_a_dependency() -> None:
    for name in ("requirements.txt", "requirements-dev.txt"):
        lines = (ROOT / name).read_text().splitlines()
        assert not any(line.strip().startswith("torchvision") for line in lines)
    assert "torch==2.13.0" in (ROOT / "requirements.txt").read_text().splitlines()


def test_ruff_lint_and_format_are_clean() -> None:
    if shutil.which("ruff") is None:
        if os.environ.get("CI"):
            pytest.fail("ruff is a test dependency (requirements-dev.txt) and must run in CI")
        pytest.skip("ruff is not installed")
    check = subprocess.run(["ruff", "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    fmt = subprocess.run(["ruff", "format", "--check", "."], cwd=ROOT, capture_output=True, text=True)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr
