"""Regenerate the shipped reference study, ``assets/reference_study.zip``, in one command.

    nice -n 10 python benchmarks/make_reference_study.py [--slots 2] [-o assets/reference_study.zip]

What it does, with the project's own command line only:

1. trains the quick study (quick preset, 4 architectures × 4 losses × seeds 0, 1, 2 = 48 runs,
   one CPU thread per run, so every number is deterministic for its seed) with
   ``python -m seglab study`` into a work folder (``--work``; a folder that already holds the 48
   finished runs is reused, so a second call only re-packs; one whose generation was
   interrupted is resumed with ``python -m seglab worker --once``);
2. slims a copy of each run so the whole lesson fits the size budget (:data:`BUDGET_MB`):
   * every run keeps its history, summary and config (the numbers of every seed);
   * one seed per cell (:data:`KEEP_SEED`) keeps its best weights in fp16 (Inside opens it),
     its predictions per epoch (the epoch scrubber) with the probabilities rounded to steps of
     :data:`EPOCH_PROB_STEP`/255 (at most 0.008 off; they barely compress otherwise), and its
     stored predicted masks with their images: every stored test image
     (``TEST_PREVIEW_IMAGES``, for the error analysis) and the validation previews;
   * the other seeds keep no weights, no per-epoch files and no masks (their images are the
     same as their cell's kept seed's, and would cost 0.4 MB a run);
   * every run is put in the study ``reference-quick-3-seeds``, so it loads as a study of its own;
3. exports the slimmed runs with ``python -m seglab export --all`` and checks the result: the
   zip's size, that every run is there, and (``--compare``, by default the zip being replaced)
   that every run's validation and test IoU equal the previous reference's to the 4th digit.

Exit status 1 when the zip is over budget, a run is missing or a number differs.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from seglab.store import epoch_predictions  # noqa: E402
from seglab.store.reference import REFERENCE_GROUP, REFERENCE_ZIP  # noqa: E402

ARCHS = ("segnet", "unet", "unet_strided", "unetpp")
LOSSES = ("bce", "dice", "focal", "bce_ds")
SEEDS = (0, 1, 2)
KEEP_SEED = 0
EPOCH_PROB_STEP = 4
BUDGET_MB = 15.0


def seglab_cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "seglab", *args], cwd=ROOT, check=True)


def finished_runs(home: Path) -> list[Path]:
    """Run folders of ``home`` whose summary says done."""
    runs = []
    for summary in sorted(home.glob("*/summary.json")):
        if json.loads(summary.read_text()).get("status") == "done":
            runs.append(summary.parent)
    return runs


def train(home: Path, slots: int) -> list[Path]:
    runs = finished_runs(home)
    expected = len(ARCHS) * len(LOSSES) * len(SEEDS)
    if len(runs) == expected:
        print(f"reusing the {expected} finished runs in {home}", file=sys.stderr)
        return runs
    if runs and (home / "jobs.sqlite").is_file():
        # an interrupted generation: its queue still holds the missing runs
        print(f"resuming: {len(runs)} of {expected} runs finished in {home}", file=sys.stderr)
        seglab_cli("worker", "--once", "--slots", str(slots), "--slot-threads", "1", "--home", str(home))
        runs = finished_runs(home)
        if len(runs) != expected:
            sys.exit(f"{home} holds {len(runs)} finished runs, not {expected}: use an empty --work folder")
        return runs
    if runs:
        sys.exit(f"{home} holds {len(runs)} finished runs, not {expected}: use an empty --work folder")
    seglab_cli(
        "study",
        "--preset", "quick",
        "--archs", ",".join(ARCHS),
        "--losses", ",".join(LOSSES),
        "--seeds", ",".join(map(str, SEEDS)),
        "--threads", "1",
        "--slots", str(slots),
        "--slot-threads", "1",
        "--name", REFERENCE_GROUP,
        "--home", str(home),
    )  # fmt: skip
    runs = finished_runs(home)
    if len(runs) != expected:
        sys.exit(f"only {len(runs)} of {expected} runs finished; see the study's messages above")
    return runs


def fp16_weights(path: Path) -> None:
    state = torch.load(path, map_location="cpu", weights_only=True)
    torch.save({k: v.half() if v.is_floating_point() else v for k, v in state.items()}, path)


def round_epoch_probabilities(run: Path, step: int = EPOCH_PROB_STEP) -> None:
    """Per-epoch binary probabilities (uint8, ``round(255 p)``) rounded to multiples of ``step``."""
    folder = run / epoch_predictions.FOLDER
    with np.load(folder / epoch_predictions.FIXED, allow_pickle=False) as npz:
        if str(npz["kind"]) != "probability":
            return  # class ids, not probabilities: nothing to round
    for epoch in epoch_predictions.stored_epochs(run):
        path = folder / f"e{epoch:04d}.npz"
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        rounded = np.round(arrays["pred"].astype(np.float32) / step) * step
        arrays["pred"] = np.clip(rounded, 0, 255).astype(np.uint8)
        np.savez_compressed(path, **arrays)


def slim(run: Path) -> None:
    """Make one copied run folder fit the budget (see the module docstring)."""
    summary_path = run / "summary.json"
    summary = json.loads(summary_path.read_text())
    summary["group"] = REFERENCE_GROUP
    summary_path.write_text(json.dumps(summary, indent=2))
    (run / "last.pt").unlink(missing_ok=True)
    if int(summary["config"]["seed"]) == KEEP_SEED:
        fp16_weights(run / "best.pt")
        round_epoch_probabilities(run)
        with np.load(run / "predictions.npz", allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files if not k.endswith("_probs")}
        np.savez_compressed(run / "predictions.npz", **arrays)
    else:
        (run / "best.pt").unlink(missing_ok=True)
        shutil.rmtree(run / epoch_predictions.FOLDER, ignore_errors=True)
        (run / "predictions.npz").unlink(missing_ok=True)


def scores(zip_path: Path) -> dict[tuple[str, str, int], tuple[float, float]]:
    """(arch, loss, seed) → (validation IoU, test IoU) of every run in an exported zip."""
    out = {}
    with zipfile.ZipFile(zip_path) as zf:
        for name in zf.namelist():
            if name.endswith("/summary.json"):
                s = json.loads(zf.read(name))
                c, m = s["config"], s["metrics"]
                out[(c["arch"], c["loss"], int(c["seed"]))] = (m["val_iou"], m["test_iou"])
    return out


def check(new: Path, old: Path | None) -> list[str]:
    problems = []
    size_mb = new.stat().st_size / 1e6
    print(f"{new}: {size_mb:.1f} MB (budget {BUDGET_MB} MB)")
    if size_mb > BUDGET_MB:
        problems.append(f"the zip is {size_mb:.1f} MB, over the {BUDGET_MB} MB budget")
    got = scores(new)
    wanted = {(a, loss, s) for a in ARCHS for loss in LOSSES for s in SEEDS}
    if missing := wanted - set(got):
        problems.append(f"runs missing: {sorted(missing)}")
    if old is not None and old.is_file():
        before = scores(old)
        same = 0
        for key in sorted(wanted & set(got) & set(before)):
            a, b = got[key], before[key]
            if all(round(x, 4) == round(y, 4) for x, y in zip(a, b, strict=True)):
                same += 1
            else:
                problems.append(f"{key}: val/test IoU {a[0]:.4f}/{a[1]:.4f}, before {b[0]:.4f}/{b[1]:.4f}")
        print(f"{same} of {len(before)} runs reproduce {old.name} to the 4th digit")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", type=Path, default=REFERENCE_ZIP)
    parser.add_argument("--work", type=Path, help="folder for the training runs (default: a temporary one)")
    parser.add_argument("--slots", type=int, default=2, help="runs trained at once (default 2)")
    parser.add_argument("--compare", type=Path, help="reference zip to compare with (default: --output)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp) / "train"
        work.mkdir(parents=True, exist_ok=True)
        runs = train(work, args.slots)
        stage = Path(tmp) / "stage"
        for run in runs:
            shutil.copytree(run, stage / run.name)
            slim(stage / run.name)
        packed = Path(tmp) / "reference_study.zip"
        seglab_cli("export", "--all", "-o", str(packed), "--home", str(stage))
        problems = check(packed, args.compare or args.output)
        if problems:
            print("not written:\n  " + "\n  ".join(problems), file=sys.stderr)
            return 1
        shutil.copyfile(packed, args.output)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
