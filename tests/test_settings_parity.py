"""What the Train page (and its Tune tab) queues when left at its defaults: the same configs as
the command line (issue 19). An independent oracle: the CLI's own parser builds the other side."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

import seglab.jobs
from seglab.cli.main import main
from seglab.errors import ConfigError
from seglab.jobs import JobQueue
from seglab.settings.config import TrainConfig
from seglab.settings.presets import PRESETS, preset_seeds
from seglab.settings.schema import DEFAULT_TUNE_FOLDS
from seglab.settings.study import Study
from tests.page_support import page_runner

run_page = page_runner("train", timeout=90)


def _start(at) -> None:
    [b for b in at.button if b.label == "Start training"][0].click().run()
    assert not at.exception, [e.value for e in at.exception]


def test_train_page_queues_an_unfrozen_encoder_by_default(seglab_home, monkeypatch):
    """Issue 19: the hidden freeze input started at -1 (the whole run) and froze every encoder."""
    monkeypatch.setattr(seglab.jobs, "ensure_worker", lambda *a, **k: False)
    at = run_page()
    _start(at)
    with JobQueue(seglab_home) as queue:
        jobs = queue.jobs()
    assert jobs
    assert {j.config.freeze_encoder_epochs for j in jobs} == {0}


def test_tune_tab_queues_an_unfrozen_encoder_by_default(seglab_home, monkeypatch):
    monkeypatch.setattr(seglab.jobs, "ensure_worker", lambda *a, **k: False)
    at = run_page()
    at.button(key="tu_start").click().run()
    assert not at.exception
    with JobQueue(seglab_home) as queue:
        jobs = queue.jobs()
    assert jobs
    assert {j.config.freeze_encoder_epochs for j in jobs} == {0}


# ---- the Train page at each preset's defaults queues what the CLI queues --------------------------
ASIDE = ("device", "num_threads", "precision")  # the worker's business, not the experiment's


def _comparable(configs) -> list[str]:
    out = []
    for config in configs:
        data = config.to_dict()
        for key in ASIDE:
            data.pop(key)
        out.append(json.dumps(data, sort_keys=True))
    return sorted(out)


def _queued(home: Path):
    with JobQueue(home) as queue:
        return [j.config for j in queue.jobs()]


def _page_at_preset(name: str):
    at = run_page()
    if at.selectbox(key="tr_preset").value != name:
        at.selectbox(key="tr_preset").select(name).run()
        assert not at.exception
    return at


@pytest.mark.parametrize("name", list(PRESETS))
def test_train_page_at_a_preset_queues_what_study_preset_queues(name, seglab_home, tmp_path, monkeypatch):
    monkeypatch.setattr(seglab.jobs, "ensure_worker", lambda *a, **k: False)
    at = _page_at_preset(name)
    archs, losses = at.multiselect(key="tr_archs").value, at.multiselect(key="tr_losses").value
    _start(at)
    page_configs = _queued(seglab_home)

    cli_home = tmp_path / "cli-home"
    argv = ["study", "--preset", name, "--archs", ",".join(archs), "--losses", ",".join(losses)]
    assert main([*argv, "--background", "--home", str(cli_home)]) == 0
    cli_configs = _queued(cli_home)
    assert len(page_configs) == len(cli_configs) == len(archs) * len(losses) * len(preset_seeds(name))
    assert _comparable(page_configs) == _comparable(cli_configs)


@pytest.mark.parametrize("name", list(PRESETS))
def test_tune_tab_at_a_preset_queues_what_tune_queues(name, seglab_home, tmp_path, monkeypatch):
    import seglab.cli.main as cli

    monkeypatch.setattr(seglab.jobs, "ensure_worker", lambda *a, **k: False)
    monkeypatch.setattr(cli, "_run_group", lambda *a, **k: None)  # queue only: nothing trains here
    at = _page_at_preset(name)
    arch, loss = at.multiselect(key="tr_archs").value[0], at.multiselect(key="tr_losses").value[0]
    grid = {key: at.text_input(key=key).value for key in ("tu_lr", "tu_width", "tu_depth")}
    at.button(key="tu_start").click().run()
    assert not at.exception
    page_configs = _queued(seglab_home)

    cli_home = tmp_path / "cli-home"
    argv = ["tune", "--preset", name, "--arch", arch, "--loss", loss, "--home", str(cli_home)]
    argv += [f"--grid={key[3:]}={text.replace(' ', '')}" for key, text in grid.items()]
    main(argv)  # exits non-zero: no fold trained, so there is no best configuration to retrain
    cli_configs = _queued(cli_home)
    assert page_configs and len(page_configs) == len(cli_configs)
    assert {c.folds for c in page_configs} == {DEFAULT_TUNE_FOLDS}
    assert _comparable(page_configs) == _comparable(cli_configs)


# ---- a setting added to the schema shows up everywhere ---------------------------------------------
def test_a_setting_added_to_the_schema_reaches_the_cli_the_form_and_the_url(seglab_home, monkeypatch, capsys):
    import seglab.cli.main as cli
    import seglab.settings.config as config_module
    from seglab.settings import schema

    @dataclasses.dataclass
    class Extended(TrainConfig):
        label_smoothing: float = 0.0

    added = schema.Setting(
        "label_smoothing", float, 0.0, "training", "Label smoothing", "share of each target moved to "
        "the other classes", min=0.0, max=0.5, step=0.05, form="main",
    )  # fmt: skip
    monkeypatch.setitem(schema.SETTINGS, added.name, added)
    monkeypatch.setattr(config_module, "TrainConfig", Extended)
    monkeypatch.setattr(cli, "TrainConfig", Extended)

    assert main(["train", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--label-smoothing" in help_text and "share of each target moved to the other classes" in help_text
    args = cli.build_parser().parse_args(["train", "--preset", "smoke", "--label-smoothing", "0.1"])
    assert cli.config_from_args(args).label_smoothing == 0.1
    assert main(["train", "--label-smoothing", "0.9"]) == 2  # beyond its declared bound

    box = run_page().number_input(key="tr_label_smoothing")
    assert box.label == "Label smoothing" and box.value == 0.0  # the declared default
    at = run_page(tr_label_smoothing="0.1")  # bound to the URL: a link sets it
    assert at.number_input(key="tr_label_smoothing").value == pytest.approx(0.1)
    assert not [e.value for e in at.error if "Cannot start" in e.value]
    assert (
        not run_page(tr_label_smoothing="0.9").number_input(key="tr_label_smoothing").value
    )  # out of bounds


# ---- one grid reader; parameters checked against the chosen losses / architectures -----------------
def _study(argv: list[str]):
    import seglab.cli.main as cli

    args = cli.build_parser().parse_args(["study", "--preset", "smoke", *argv])
    return cli.study_from_args(args, cli.config_from_args(args))


def test_study_grid_reads_repeated_and_comma_forms_alike():
    repeated = _study(["--grid", "lr=0.001,0.01", "--grid", "width=8,16"])
    comma = _study(["--grid", "lr=0.001,0.01,width=8,16"])
    assert repeated.axes == comma.axes == {"lr": [0.001, 0.01], "width": [8, 16]}
    assert len(comma.expand()) == 4


def test_loss_param_goes_to_the_chosen_losses_not_the_default_one():
    study = _study(["--losses", "focal", "--loss-param", "alpha=0.5"])
    assert [(c.loss, c.loss_params) for c in study.expand()] == [("focal", {"alpha": 0.5})]
    with pytest.raises(ConfigError, match="no loss of --losses has the parameter 'alpha'"):
        _study(["--losses", "bce", "--loss-param", "alpha=0.5"])


def test_encoder_goes_to_the_chosen_architectures():
    study = _study(["--archs", "fpn,unet", "--encoder", "mobilenet_v2"])
    assert {(c.arch, c.model_params.get("encoder")) for c in study.expand()} == {
        ("fpn", "mobilenet_v2"),
        ("unet", None),
    }


def test_relative_dataset_and_weights_paths_are_queued_absolute(seglab_home, tmp_path, monkeypatch):
    (tmp_path / "mydata").mkdir()
    (tmp_path / "w.pt").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    config = TrainConfig(dataset="mydata", encoder_weights="w.pt")
    with JobQueue(seglab_home) as queue:
        job = queue.job(queue.enqueue(config))
        group = queue.enqueue_study(Study(TrainConfig(dataset="mydata"), {"lr": [0.001, 0.01]}))
        in_group = queue.jobs(group=group)
    assert job.config.dataset == str(tmp_path / "mydata") and job.config.encoder_weights == str(
        tmp_path / "w.pt"
    )
    assert {j.config.dataset for j in in_group} == {str(tmp_path / "mydata")}
    assert TrainConfig(dataset="shapes").with_absolute_paths().dataset == "shapes"
