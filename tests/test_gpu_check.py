"""benchmarks/gpu_check.sh: the prepared GPU measurements, run here on the CPU at smoke size.

No GPU figure is checked (there is none here): these tests check that every step runs and
records its figures, that a step running out of time is recorded as not measured, and that
nothing imports Streamlit or Altair (absent on the GPU machine's image).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "gpu_check.py"
STEPS = ["env", "data", "engine", "fpn", "compile", "slots-1", "slots-2", "packed"]


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SEGLAB_HOME": str(tmp_path / "home"),
        "OMP_NUM_THREADS": "1",
    }


def test_collect_marks_steps_that_timed_out_or_crashed(tmp_path: Path) -> None:
    steps = tmp_path / "steps"
    steps.mkdir()
    (steps / "env.json").write_text(
        json.dumps({"device": "GPU: test", "torch": "x", "peak_bf16_tflops": 989.0})
    )
    (steps / "compile.json").write_text(
        json.dumps({"off": {"later_images_per_second": 2000.0}, "partial": True})
    )
    (steps / "_rc.txt").write_text(
        "env 0 1500 20\nengine 124 40000 40\nfpn 1 2500 30\ncompile 124 65000 65\n"
    )
    subprocess.run(
        [sys.executable, str(SCRIPT), "collect", "--out", str(tmp_path)], check=True, env=_env(tmp_path)
    )
    figures = json.loads((tmp_path / "gpu_figures.json").read_text())
    assert figures["total_seconds"] == pytest.approx(109.0)
    assert figures["steps"]["env"]["device"] == "GPU: test" and "error" not in figures["steps"]["env"]
    assert figures["steps"]["engine"]["error"] == "timed out after 40 s"
    assert "exit code 1" in figures["steps"]["fpn"]["error"]
    summary = (tmp_path / "gpu_summary.txt").read_text()
    assert "engine: NOT MEASURED (timed out after 40 s;" in summary
    assert "fpn: NOT MEASURED" in summary
    compile_step = figures["steps"]["compile"]
    assert compile_step["off"]["later_images_per_second"] == 2000.0
    assert compile_step["error"] == "timed out after 65 s (partial figures kept)"
    assert "compile: PARTLY MEASURED" in summary


def test_steps_refuse_streamlit_and_altair(tmp_path: Path) -> None:
    code = (
        f"import runpy, sys; sys.argv = ['gpu_check']; runpy.run_path({str(SCRIPT)!r}, run_name='gpu_check')\n"
        "try:\n    import streamlit\nexcept ImportError as exc:\n    print('refused:', exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(tmp_path))
    assert "refused: streamlit must not be needed" in out.stdout, out.stderr


@pytest.mark.slow
def test_the_whole_script_runs_at_smoke_size(tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = {**_env(tmp_path), "OUT": str(out), "TMPDIR": str(tmp_path)}
    subprocess.run(
        ["bash", str(ROOT / "benchmarks" / "gpu_check.sh"), "--smoke"], check=True, env=env, timeout=1500
    )
    figures = json.loads((out / "gpu_figures.json").read_text())
    assert list(figures["steps"]) == STEPS
    for name, entry in figures["steps"].items():
        assert "error" not in entry, (name, (out / "steps" / f"{name}.log").read_text()[-2000:])
        assert entry["exit_code"] == 0 and entry["ui_modules_imported"] == []
    steps = figures["steps"]
    assert steps["engine"]["ratio_engine_bare"] > 0
    assert (
        steps["fpn"]["unet"]["step_ms"] > 0 and steps["fpn"]["fpn_with_fix"]["depthwise_convs_switched"] == 0
    )
    for name in ("slots-1", "slots-2"):
        assert steps[name]["runs"] == steps[name]["done"] == 4
    packed = steps["packed"]
    assert packed["packed"]["done"] == packed["unpacked"]["done"] == 4
    assert packed["largest_test_iou_gap"] <= 1e-3  # the same runs, packed or not
    assert (out / "gpu_summary.txt").read_text().count("NOT MEASURED") == 0
