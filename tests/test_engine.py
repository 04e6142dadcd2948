"""The training engine on tiny configs: outcomes, callbacks, determinism, resume, store output."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from seglab.errors import ConfigError
from seglab.settings.config import TrainConfig
from seglab.settings.presets import PRESETS, preset
from seglab.store.run_store import RunStore
from seglab.training import engine
from seglab.training.engine import TrainResult, train

TINY = {
    "size": 32,
    "n": 24,
    "width": 4,
    "depth": 2,
    "batch_size": 8,
    "epochs": 1,
    "device": "cpu",
    "num_threads": 1,
}
# One thread: the test machine's two cores are shared, and oversubscribed OpenMP threads crawl.


def tiny(**changes: Any) -> TrainConfig:
    return TrainConfig(**{**TINY, **changes})


class Recorder:
    """Counts every callback and keeps its arguments."""

    def __init__(self) -> None:
        self.starts: list[dict] = []
        self.batches: list[tuple[int, int, int, float]] = []
        self.epochs: list[tuple[int, dict]] = []
        self.checkpoints: list[tuple[int, str]] = []
        self.ends: list[TrainResult] = []

    def on_start(self, info: dict) -> None:
        self.starts.append(info)

    def on_batch(self, epoch: int, batch: int, n_batches: int, loss: float) -> None:
        self.batches.append((epoch, batch, n_batches, loss))

    def on_epoch_end(self, epoch: int, record: dict) -> None:
        self.epochs.append((epoch, record))

    def on_checkpoint(self, epoch: int, which: str, path: Path | None) -> None:
        self.checkpoints.append((epoch, which))

    def on_end(self, result: TrainResult) -> None:
        self.ends.append(result)


def _headline(result: TrainResult) -> list[float]:
    values = [h[k] for h in result.history for k in ("train_loss", "val_loss", "val_iou")]
    return values + [result.test_metrics["iou"], result.test_metrics["loss"]]


def test_presets_are_valid_configs() -> None:
    for name in PRESETS:
        assert isinstance(preset(name), TrainConfig)
    assert preset("quick", arch="segnet").arch == "segnet"
    with pytest.raises(ConfigError, match="quick"):
        preset("nope")
    with pytest.raises(ConfigError):
        preset("quick", colour="blue")


def test_same_config_gives_same_metrics() -> None:
    config = tiny(epochs=2, augment=True)
    a, b = train(config), train(config)
    assert a.status == b.status == "done"
    np.testing.assert_allclose(_headline(a), _headline(b), rtol=0, atol=1e-6)


def test_training_reduces_the_loss() -> None:
    result = train(tiny(n=48, epochs=4, lr=1e-2, augment=False))
    assert result.status == "done", result.message
    losses = [h["train_loss"] for h in result.history]
    assert losses[-1] < losses[0]
    assert 0.0 <= result.val_metrics["iou"] <= 1.0
    assert result.best_epoch == max(range(1, 5), key=lambda e: result.history[e - 1]["val_iou"])


def test_callbacks_fire_with_the_right_counts() -> None:
    rec = Recorder()
    config = tiny(epochs=2)
    result = train(config, rec)
    [info] = rec.starts
    n_batches = math.ceil(info["n_train"] / config.batch_size)
    assert info["n_batches"] == n_batches and info["n_train"] + info["n_val"] + info["n_test"] == 24
    assert [(e, b) for e, b, _, _ in rec.batches] == [(e, b) for e in (1, 2) for b in range(1, n_batches + 1)]
    assert all(n == n_batches and math.isfinite(loss) for _, _, n, loss in rec.batches)
    assert [e for e, _ in rec.epochs] == [1, 2]
    assert rec.epochs[1][1] is result.history[1] or rec.epochs[1][1] == result.history[1]
    assert rec.checkpoints == []  # no run_dir → nothing written
    assert rec.ends == [result]
    assert {"train_loss", "val_loss", "val_iou", "val_miou", "val_dice", "seconds"} <= set(result.history[0])


def test_should_stop_cancels_within_one_batch() -> None:
    rec = Recorder()
    polls = []

    def should_stop() -> bool:
        polls.append(len(rec.batches))
        return len(rec.batches) >= 3

    result = train(tiny(epochs=3), rec, should_stop=should_stop)
    assert result.status == "cancelled"
    assert len(rec.batches) == 3  # no batch ran after should_stop said yes
    assert len(polls) == 4
    n_batches = rec.starts[0]["n_batches"]
    epoch, batch = divmod(3, n_batches)
    assert f"epoch {epoch + 1} (batch {batch + 1} of {n_batches})" in result.message
    assert result.epochs_run == epoch and result.test_metrics == {}
    assert rec.ends == [result]


def test_nan_loss_stops_as_diverged_naming_the_epoch(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real_build_loss = engine.build_loss

    def poisoned(config: TrainConfig, num_classes: int) -> tuple[torch.nn.Module, bool]:
        loss_fn, uses_aux = real_build_loss(config, num_classes)
        calls = {"n": 0}

        class NanAfterFirstEpoch(torch.nn.Module):
            def forward(self, logits: torch.Tensor, target: torch.Tensor, aux: Any = None) -> torch.Tensor:
                calls["n"] += 1
                value = loss_fn(logits, target)
                return value * float("nan") if torch.is_grad_enabled() and calls["n"] > 4 else value

        return NanAfterFirstEpoch(), uses_aux

    monkeypatch.setattr(engine, "build_loss", poisoned)
    store = RunStore(tmp_path / "home")
    run_id = store.create_run(tiny(epochs=3))
    result = train(tiny(epochs=3), run_dir=store.run_dir(run_id))
    assert result.status == "diverged"
    assert "epoch 2" in result.message and "learning rate" in result.message
    assert result.epochs_run == 1 and result.best_epoch == 1
    record = store.load_run(run_id)
    assert record.status == "diverged" and "epoch 2" in record.message
    assert store.predictions(run_id)["val_preds"].shape[0] > 0  # best-epoch weights still shown


def test_absurd_learning_rate_diverges_with_a_hint() -> None:
    result = train(tiny(lr=1e35, optimizer="sgd", epochs=2, augment=False))
    assert result.status == "diverged"
    assert "epoch 1" in result.message and "learning rate" in result.message
    assert result.epochs_run == 0 and result.val_metrics == {}


def test_user_errors_become_failed_runs(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "home")
    run_id = store.create_run(tiny(arch="no_such_model"))
    rec = Recorder()
    result = train(tiny(arch="no_such_model"), rec, run_dir=store.run_dir(run_id))
    assert result.status == "failed"
    assert "unet" in result.message  # the message lists the valid names
    assert store.load_run(run_id).status == "failed"
    assert rec.ends == [result]
    with pytest.raises(ConfigError, match="gamma"):  # refused by the config, before any training
        tiny(loss="focal", loss_params={"gamma": "lots"})


def test_out_of_memory_is_a_failed_run_with_a_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    real = engine.build_model

    def greedy(config: TrainConfig, num_classes: int) -> torch.nn.Module:
        model = real(config, num_classes)

        def forward(*args: Any, **kwargs: Any) -> Any:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

        model.forward = forward
        return model

    monkeypatch.setattr(engine, "build_model", greedy)
    result = train(tiny())
    assert result.status == "failed"
    assert "batch size" in result.message and "width" in result.message


def test_internal_bugs_are_recorded_and_reraised(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def broken(config: TrainConfig, num_classes: int) -> torch.nn.Module:
        raise ZeroDivisionError("bug")

    monkeypatch.setattr(engine, "build_model", broken)
    store = RunStore(tmp_path / "home")
    run_id = store.create_run(tiny())
    with pytest.raises(ZeroDivisionError):
        train(tiny(), run_dir=store.run_dir(run_id))
    record = store.load_run(run_id)
    assert record.status == "failed" and "ZeroDivisionError" in record.message


def test_a_shape_mismatch_inside_the_engine_is_an_internal_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from seglab.errors import InternalError, SegLabError

    real = engine.build_model

    def shrinking(config: TrainConfig, num_classes: int) -> torch.nn.Module:
        model = real(config, num_classes)
        forward = model.forward
        model.forward = lambda x, **kw: forward(x, **kw)[..., :-1, :]  # one row short: a bug
        return model

    monkeypatch.setattr(engine, "build_model", shrinking)
    store = RunStore(tmp_path / "home")
    run_id = store.create_run(tiny())
    with pytest.raises(InternalError, match="does not match") as caught:
        train(tiny(loss="dice"), run_dir=store.run_dir(run_id))
    assert not isinstance(caught.value, SegLabError) and caught.value.__traceback__ is not None
    assert store.load_run(run_id).message.startswith("internal error: InternalError")


def test_run_dir_holds_everything_the_app_reads(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "home")
    config = tiny(epochs=2)
    run_id = store.create_run(config, group="demo")
    rec = Recorder()
    result = train(config, rec, run_dir=store.run_dir(run_id))
    assert result.status == "done", result.message

    [record] = store.list_runs()
    assert record.status == "done" and record.group == "demo" and record.epochs_done == 2
    assert record.metrics["val_iou"] == pytest.approx(result.val_metrics["iou"], nan_ok=True)
    assert record.metrics["test_iou"] == pytest.approx(result.test_metrics["iou"], nan_ok=True)
    assert record.started and record.finished and record.started <= record.finished
    assert TrainConfig.from_json((store.run_dir(run_id) / "config.json").read_text()) == config

    history = store.history(run_id)
    assert [h["epoch"] for h in history] == [1, 2]
    assert history[1]["train_loss"] == pytest.approx(result.history[1]["train_loss"])

    preds = store.predictions(run_id)
    for split in ("val", "test"):
        k = preds[f"{split}_images"].shape[0]
        assert 1 <= k <= 8
        assert preds[f"{split}_images"].dtype == np.uint8 and preds[f"{split}_images"].shape == (k, 32, 32, 3)
        assert preds[f"{split}_masks"].shape == preds[f"{split}_preds"].shape == (k, 32, 32)
        assert preds[f"{split}_iou"].shape == (k,)

    best = torch.load(store.checkpoint_path(run_id, "best"), weights_only=True)
    last = torch.load(store.checkpoint_path(run_id, "last"), weights_only=True)
    assert last["epoch"] == 2 and len(last["history"]) == 2
    assert {"model", "optimizer", "shuffle_rng", "aug_rng"} <= set(last)
    assert ("best" in {w for _, w in rec.checkpoints}) and rec.checkpoints.count((2, "last")) == 1

    model = store.load_model(run_id)
    for key, value in model.state_dict().items():
        assert torch.equal(value, best[key])
    summary = json.loads((store.run_dir(run_id) / "summary.json").read_text())
    assert summary["num_classes"] == 2


def test_resume_continues_from_last_checkpoint_and_matches_an_uninterrupted_run(tmp_path: Path) -> None:
    config = tiny(epochs=2)
    straight = train(config)

    store = RunStore(tmp_path / "home")
    run_id = store.create_run(config)
    rec = Recorder()
    first = train(config, rec, run_dir=store.run_dir(run_id), should_stop=lambda: len(rec.epochs) >= 1)
    assert first.status == "cancelled" and first.epochs_run == 1
    assert store.load_run(run_id).status == "cancelled"

    rec2 = Recorder()
    resumed = train(config, rec2, run_dir=store.run_dir(run_id), resume=True)
    assert resumed.status == "done" and resumed.epochs_run == 2
    assert rec2.starts[0]["start_epoch"] == 2
    assert [e for e, _ in rec2.epochs] == [2]  # only the missing epoch was trained
    assert [h["epoch"] for h in store.history(run_id)] == [1, 2]
    np.testing.assert_allclose(_headline(resumed), _headline(straight), rtol=0, atol=1e-6)
    assert store.load_run(run_id).status == "done"


def test_resume_refuses_a_different_model(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "home")
    run_id = store.create_run(tiny())
    assert train(tiny(), run_dir=store.run_dir(run_id)).status == "done"
    with pytest.raises(ConfigError, match="width"):
        train(tiny(width=8), run_dir=store.run_dir(run_id), resume=True)
    assert store.load_run(run_id).status == "done"  # the finished run is left untouched


def test_resume_without_checkpoint_starts_fresh(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "home")
    run_id = store.create_run(tiny())
    result = train(tiny(), run_dir=store.run_dir(run_id), resume=True)
    assert result.status == "done" and result.epochs_run == 1


def test_unetpp_with_deep_supervision_trains() -> None:
    result = train(tiny(arch="unetpp", loss="bce_ds"))
    assert result.status == "done", result.message
    assert math.isfinite(result.history[0]["train_loss"])


def test_a_folder_dataset_trains(tmp_path: Path) -> None:
    from PIL import Image

    root = tmp_path / "my_data"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    rng = np.random.default_rng(0)
    for i in range(10):
        image = rng.integers(0, 80, (32, 32, 3), dtype=np.uint8)
        mask = np.zeros((32, 32), np.uint8)
        r, c = rng.integers(2, 18, 2)
        mask[r : r + 12, c : c + 12] = 255
        image[mask > 0] += 150
        Image.fromarray(image).save(root / "images" / f"img_{i:02d}.png")
        Image.fromarray(mask).save(root / "masks" / f"img_{i:02d}.png")
    result = train(tiny(dataset=str(root), n=None, epochs=2, batch_size=4))
    assert result.status == "done", result.message
    assert result.epochs_run == 2 and 0.0 <= result.test_metrics["iou"] <= 1.0


def test_engine_sets_and_restores_thread_count() -> None:
    before = torch.get_num_threads()
    seen = []

    class Spy:
        def on_start(self, info: dict) -> None:
            seen.append(torch.get_num_threads())

    train(tiny(num_threads=2), Spy())
    assert seen == [2]
    assert torch.get_num_threads() == before


def test_the_engine_writes_only_through_its_run_writer(tmp_path):
    from seglab.store.run_store import RunFiles

    class Recording(RunFiles):
        calls: list[str] = []

        def __getattribute__(self, name: str) -> Any:
            if not name.startswith("_") and name in RunFiles.__dict__:
                type(self).calls.append(name)
            return super().__getattribute__(name)

    writer = Recording(tmp_path / "run")
    result = train(tiny(epochs=1), writer=writer)
    assert result.status == "done"
    names = set(Recording.calls)
    assert {"prepare", "set_status", "append_history", "save_checkpoint", "save_predictions"} <= names
    written = {p.name for p in (tmp_path / "run").iterdir()}
    assert {"config.json", "summary.json", "history.jsonl", "best.pt", "last.pt"} <= written
    # the engine module itself opens no files and saves nothing
    source = Path(engine.__file__).read_text(encoding="utf-8")
    assert "open(" not in source and "torch.save" not in source and "np.save" not in source
    # ... and knows nothing of the folder's layout: no paths, no file names
    assert "files.path" not in source and "files.file(" not in source and "checkpoint_path" not in source
    assert "summary.json" not in source
