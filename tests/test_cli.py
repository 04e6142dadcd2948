"""``python -m seglab``: train, study, runs, jobs, export/import, report, and one-line errors."""

from __future__ import annotations

import codecs
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from seglab.cli.main import main
from seglab.store.run_store import RunStore

ROOT = Path(__file__).resolve().parent.parent
TINY = ["--preset", "smoke", "--size", "32", "--n", "24", "--width", "4", "--epochs", "1", "--device", "cpu"]


def seglab(*args: str, home: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real command line in a fresh process."""
    env = dict(os.environ)
    if home is not None:
        env["SEGLAB_HOME"] = str(home)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return subprocess.run(
        [sys.executable, "-m", "seglab", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One home with a `train` run and a 2-run `study` (unet, segnet × bce), made through the CLI."""
    home = tmp_path_factory.mktemp("cli-home")
    assert main(["train", *TINY, "--arch", "unet", "--loss", "bce_dice", "--home", str(home)]) == 0
    (train_id,) = [r.id for r in RunStore(home).list_runs()]
    assert (
        main(
            ["study", *TINY, "--archs", "unet,segnet", "--losses", "bce", "--name", "t", "--home", str(home)]
        )
        == 0
    )
    (group,) = {r.group for r in RunStore(home).list_runs() if r.group}
    return {"home": home, "train_id": train_id, "group": group}


def test_train_run_is_stored_and_listed_as_json(lab: dict) -> None:
    out = seglab("runs", "--json", home=lab["home"])
    assert out.returncode == 0, out.stderr
    runs = json.loads(out.stdout)
    assert len(runs) == 3
    for run in runs:
        assert {"id", "status", "config", "metrics"} <= set(run)
        assert {"val_iou", "test_iou"} <= set(run["metrics"])
        assert isinstance(run["config"], dict) and run["config"]["size"] == 32
    (trained,) = [r for r in runs if r["id"] == lab["train_id"]]
    assert trained["status"] == "done" and trained["group"] is None
    assert trained["config"]["arch"] == "unet" and trained["config"]["loss"] == "bce_dice"
    assert trained["config"]["epochs"] == 1 and trained["config"]["width"] == 4
    assert 0.0 <= trained["metrics"]["val_iou"] <= 1.0 and 0.0 <= trained["metrics"]["test_iou"] <= 1.0
    table = seglab("runs", home=lab["home"])
    assert table.returncode == 0 and lab["train_id"] in table.stdout


def test_study_runs_every_combination_in_one_group(lab: dict, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["jobs", "--json", "--group", lab["group"], "--home", str(lab["home"])]) == 0
    jobs = json.loads(capsys.readouterr().out)
    assert sorted(j["config"]["arch"] for j in jobs) == ["segnet", "unet"]
    assert {j["status"] for j in jobs} == {"done"} and all(j["run_id"] for j in jobs)
    assert main(["runs", "--json", "--group", lab["group"], "--home", str(lab["home"])]) == 0
    runs = json.loads(capsys.readouterr().out)
    assert sorted(r["id"] for r in runs) == sorted(j["run_id"] for j in jobs)


def test_export_and_import(lab: dict, tmp_path: Path) -> None:
    archive = tmp_path / "runs.zip"
    out = seglab("export", lab["train_id"], "-o", str(archive), home=lab["home"])
    assert out.returncode == 0, out.stderr
    other = tmp_path / "other-home"
    out = seglab("import", str(archive), home=other)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [lab["train_id"]]
    (record,) = RunStore(other).list_runs()
    assert record.id == lab["train_id"] and record.status == "done"
    assert record.metrics["test_iou"] == RunStore(lab["home"]).load_run(lab["train_id"]).metrics["test_iou"]

    everything = tmp_path / "all.zip"
    assert main(["export", "--all", "-o", str(everything), "--home", str(lab["home"])]) == 0
    third = tmp_path / "third"
    assert main(["import", str(everything), "--home", str(third)]) == 0
    assert len(RunStore(third).list_runs()) == 3


def test_report_writes_charts_and_tables(
    lab: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "report"
    assert main(["report", "--group", lab["group"], "-o", str(out_dir), "--home", str(lab["home"])]) == 0
    written = {Path(p).name for p in capsys.readouterr().out.split()}
    for stem in ("iou_by_arch", "iou_by_loss", "val_iou_heatmap", "test_iou_heatmap", "ranking"):
        assert f"{stem}.png" in written and f"{stem}.svg" in written
        assert (out_dir / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert "<svg" in (out_dir / f"{stem}.svg").read_text()[:500]
    for table in ("runs.csv", "summary.csv", "history.csv", "report.json"):
        assert (out_dir / table).stat().st_size > 0
    import pandas as pd

    summary = pd.read_csv(out_dir / "summary.csv")
    assert len(summary) == 2 and set(summary["arch"]) == {"unet", "segnet"}
    best = summary.iloc[0]  # ranked by mean validation IoU: the best is chosen on validation
    assert best["val_iou_mean"] == summary["val_iou_mean"].max() and bool(best["best"])
    assert f"Best by validation IoU: {best['model']}" in (out_dir / "README.md").read_text()
    runs = pd.read_csv(out_dir / "runs.csv")
    assert len(runs) == 2  # only the study's runs, not the separate `train` run


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["frobnicate"],
        ["train", "--epochs", "x"],
        ["train", "--epochs", "0"],
        ["train", "--preset", "quick", "--config", "c.json"],
        ["cancel", "999"],
        ["cancel", "abc"],
        ["import", "no-such-file.zip"],
        ["export", "-o", "x.zip"],
        ["study", "--preset", "smoke"],
    ],
)
def test_bad_arguments_fail_with_one_line(args: list[str], tmp_path: Path) -> None:
    out = seglab(*args, home=tmp_path)
    assert out.returncode != 0
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert "Traceback" not in out.stderr and "error" in lines[0]


@pytest.mark.parametrize(
    "args, words",
    [
        (["train", "--arch", "nosuch"], "unknown architecture"),
        (["train", "--loss", "nosuch"], "unknown loss"),
        (["train", "--dataset", "/no/such/folder"], "neither a built-in dataset"),
        (["train", "--loss-param", "alpha"], "KEY=VALUE"),
        (["train", "--config", "missing.json"], "config file missing.json: cannot be read"),
        (["train", "--size", "8", "--depth", "4"], "too small"),
        (["delete", "no-such-run"], "no run"),
        (["resume", "1"], "no job 1"),
        (["report", "-o", "out"], "no runs"),
    ],
)
def test_user_errors_in_process(
    args: list[str], words: str, seglab_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0], err


NOTEPAD_ENCODINGS = {  # what Windows Notepad's "Save as → Encoding" writes
    "UTF-8": lambda text: text.encode("utf-8"),
    "UTF-8 with BOM": lambda text: codecs.BOM_UTF8 + text.encode("utf-8"),
    "UTF-16 LE (Unicode)": lambda text: codecs.BOM_UTF16_LE + text.encode("utf-16-le"),
    "UTF-16 BE (Unicode big endian)": lambda text: codecs.BOM_UTF16_BE + text.encode("utf-16-be"),
}


@pytest.mark.parametrize("encoding", NOTEPAD_ENCODINGS)
def test_a_config_file_saved_by_notepad_loads(tmp_path: Path, encoding: str) -> None:
    from seglab.cli.main import build_parser, config_from_args

    config_file = tmp_path / "c.json"
    text = json.dumps({"arch": "segnet", "loss": "focal", "epochs": 3, "dataset": "shapes"}, indent=2)
    config_file.write_bytes(NOTEPAD_ENCODINGS[encoding](text.replace("\n", "\r\n")))
    config = config_from_args(build_parser().parse_args(["train", "--config", str(config_file)]))
    assert (config.arch, config.loss, config.epochs) == ("segnet", "focal", 3)


def test_a_config_file_in_another_encoding_is_refused_in_plain_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_file = tmp_path / "c.json"
    config_file.write_bytes('{"arch": "segnet", "dataset": "données"}'.encode("latin-1"))  # not UTF-8
    assert main(["train", "--config", str(config_file)]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "c.json: cannot be read as text; save it as UTF-8" in err[0], err


def test_loss_params_and_config_file(tmp_path: Path) -> None:
    import argparse

    from seglab.cli.main import build_parser, config_from_args

    config_file = tmp_path / "c.json"
    config_file.write_text(json.dumps({"arch": "segnet", "loss": "focal", "epochs": 3}))
    args = build_parser().parse_args(
        [
            "train",
            "--config",
            str(config_file),
            "--loss-param",
            "alpha=auto",
            "--loss-param",
            "gamma=2",
            "--no-augment",
        ]
    )
    assert isinstance(args, argparse.Namespace)
    config = config_from_args(args)
    assert config.arch == "segnet" and config.epochs == 3 and config.augment is False
    assert config.loss_params == {"alpha": "auto", "gamma": 2}
