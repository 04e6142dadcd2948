"""Soak: a worker trains a short study while another process imports, lists, exports and
deletes runs in a loop; afterwards every finished run is intact (config, history, summary
readable, metrics finite). Bounded to about 30 s of churn."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

from seglab.jobs import JobQueue
from seglab.settings.config import TrainConfig
from seglab.settings.presets import preset
from seglab.settings.study import Study
from seglab.store.run_store import RunFiles, RunStore

ROOT = Path(__file__).resolve().parent.parent
CHURN_SECONDS = 30.0

CHURN = textwrap.dedent(
    """
    import json, sys, time, warnings
    from pathlib import Path
    from seglab.cli.main import main
    from seglab.store.run_store import RunStore

    home, share, out, stop, limit = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]), float(sys.argv[5])
    warnings.simplefilter("ignore")
    store = RunStore(home)
    loops = exports = 0
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit and not stop.exists():
        added = store.import_runs(share, skipped=[])
        runs = store.list_runs()
        assert not store.unreadable_runs(), store.unreadable_runs()
        for r in runs:
            store.history(r.id)
        ids = [r.id for r in runs]
        if ids:
            store.export_runs(ids, out / f"export-{loops % 3}.zip")
            exports += 1
        assert main(["runs", "--home", str(home)]) == 0
        for run_id in added:
            store.delete_run(run_id)
        loops += 1
    print(json.dumps({"loops": loops, "exports": exports}))
    """
)


def _shared_zip(tmp_path: Path) -> Path:
    """Two finished runs from someone else's store, as a zip to import again and again."""
    other = RunStore(tmp_path / "other")
    ids = []
    for seed in (0, 1):
        run_id = other.create_run(TrainConfig(size=32, width=4, depth=2, epochs=1, seed=seed))
        files = RunFiles(other.run_dir(run_id))
        files.append_history({"epoch": 1, "train_loss": 0.7, "val_iou": 0.3})
        files.save_predictions({"val_preds": np.zeros((2, 4, 4), np.uint8)})
        files.update_summary(epochs_done=1, metrics={"val_iou": 0.3, "test_iou": 0.25})
        other.set_status(run_id, "running")
        other.set_status(run_id, "done")
        ids.append(run_id)
    return other.export_runs(ids, tmp_path / "shared.zip")


def test_worker_and_store_churn_side_by_side(tmp_path: Path) -> None:
    home = tmp_path / "home"
    study = Study(
        preset("smoke", epochs=2, device="cpu"), {"arch": ["unet", "segnet"], "loss": ["bce", "dice"]}
    )
    with JobQueue(home) as q:
        group = q.enqueue_study(study)
    share = _shared_zip(tmp_path)
    env = dict(os.environ, SEGLAB_HOME=str(home), PYTHONPATH=str(ROOT))
    stop = tmp_path / "stop"
    worker = subprocess.Popen(
        [sys.executable, "-m", "seglab", "worker", "--once", "--device", "cpu", "--home", str(home)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    churn = subprocess.Popen(
        [sys.executable, "-c", CHURN, str(home), str(share), str(tmp_path), str(stop), str(CHURN_SECONDS)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _, worker_err = worker.communicate(timeout=300)
    finally:
        stop.touch()
        churn_out, churn_err = churn.communicate(timeout=120)
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, worker_err[-2000:]
    assert "Traceback" not in worker_err, worker_err[-2000:]
    assert churn.returncode == 0, churn_err[-2000:]
    counts = json.loads(churn_out.strip().splitlines()[-1])
    print(f"soak: {counts['loops']} churn loops, {counts['exports']} exports while the study trained")
    assert counts["loops"] >= 3 and counts["exports"] >= 3

    with JobQueue(home) as q:
        jobs = q.jobs(group=group)
    assert len(jobs) == 4 and all(j.status == "done" for j in jobs), [(j.status, j.message) for j in jobs]
    store = RunStore(home)
    assert store.unreadable_runs() == []
    study_runs = {r.id: r for r in store.list_runs() if r.group == group}
    assert set(study_runs) == {j.run_id for j in jobs}
    for run_id, record in study_runs.items():
        folder = store.run_dir(run_id)
        assert TrainConfig.from_json((folder / "config.json").read_text()) == record.config
        history = store.history(run_id)
        assert [h["epoch"] for h in history] == [1, 2]
        assert record.status == "done" and record.epochs_done == 2
        assert record.metrics and all(
            math.isfinite(v) for v in record.metrics.values() if isinstance(v, float)
        )
        assert store.predictions(run_id)  # readable, not damaged
        assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temp litter
    # an export written mid-training imports cleanly into a fresh store
    exports = sorted(tmp_path.glob("export-*.zip"), key=lambda p: p.stat().st_mtime)
    fresh = RunStore(tmp_path / "fresh")
    skipped: list[str] = []
    assert fresh.import_runs(exports[-1], skipped=skipped) and skipped == []
