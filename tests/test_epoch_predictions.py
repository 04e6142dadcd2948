"""Predictions per epoch (``RunStore.epoch_predictions``) and the error analysis helpers, on real
tiny runs from the engine, checked against independent recomputations."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from seglab.analysis import error_analysis as ea
from seglab.jobs import JobQueue
from seglab.settings.presets import preset
from seglab.store import epoch_predictions as ep
from seglab.store.run_store import RunFiles, RunStore
from seglab.training import engine
from seglab.training.run import run_config
from seglab.ui import epoch_views as ev
from tests.page_support import PAGES

EPOCHS = 2


def tiny(**overrides: Any):
    """Smoke preset with 8 validation images (the full set of watched images)."""
    return preset("smoke", **{"size": 32, "n": 54, "epochs": EPOCHS, **overrides})


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two runs of one study (different seeds, architectures and losses) and a multi-class run."""
    home = tmp_path_factory.mktemp("epoch-preds")
    out: dict[str, Any] = {"home": home}
    for name, config in {
        "unet": tiny(arch="unet", loss="bce", seed=0),
        "segnet": tiny(arch="segnet", loss="dice", seed=7),
        "aerial": tiny(arch="unet", loss="ce", dataset="aerial", n=24, epochs=1),
    }.items():
        outcome = run_config(config, home=home)
        assert outcome.status == "done", outcome.message
        out[name] = outcome.run_id
        out[f"{name}_config"] = config
    return out


def test_shapes_dtypes_and_epochs(runs):
    data = RunStore(runs["home"]).epoch_predictions(runs["unet"])
    assert data is not None
    k = ep.EPOCH_IMAGES
    assert data["epochs"] == list(range(1, EPOCHS + 1))
    assert data["images"].shape == (k, 3, 32, 32) and data["images"].dtype == np.uint8
    assert data["targets"].shape == (k, 32, 32) and data["targets"].dtype == np.uint8
    assert data["pred"].shape == (EPOCHS, k, 32, 32) and data["pred"].dtype == np.uint8
    assert data["iou"].shape == (EPOCHS, k) and data["iou"].dtype == np.float32
    assert data["kind"] == "probability" and data["num_classes"] == 2
    probs = ep.probabilities(data)
    assert probs.dtype == np.float32 and probs.min() >= 0.0 and probs.max() <= 1.0


def test_same_images_for_every_run_of_a_study(runs):
    store = RunStore(runs["home"])
    a, b = store.epoch_predictions(runs["unet"]), store.epoch_predictions(runs["segnet"])
    np.testing.assert_array_equal(a["indices"], b["indices"])
    np.testing.assert_array_equal(a["images"], b["images"])
    np.testing.assert_array_equal(a["targets"], b["targets"])
    # independent oracle: the data and split rebuilt from the config alone
    ds, idx = engine.load_data(runs["unet_config"])
    val = idx["val"].numpy()
    positions = [int(np.flatnonzero(val == i)[0]) for i in a["indices"]]
    assert positions == sorted(set(positions)) and len(positions) == ep.EPOCH_IMAGES
    assert positions[0] == 0 and positions[-1] >= len(val) // 2  # spread over the split, not the first K
    expected = (ds.images[torch.as_tensor(a["indices"])].clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    np.testing.assert_array_equal(a["images"], expected)
    np.testing.assert_array_equal(a["targets"], ds.masks[torch.as_tensor(a["indices"])].numpy())


def test_last_epoch_matches_the_saved_model(runs):
    store = RunStore(runs["home"])
    data = store.epoch_predictions(runs["unet"])
    model = store.load_model(runs["unet"], "last")
    with torch.no_grad():
        p = torch.sigmoid(model(torch.from_numpy(data["images"]).float() / 255.0)[:, 0]).numpy()
    assert np.abs(data["pred"][-1].astype(np.float64) / 255.0 - p).max() <= 1 / 255 + 1e-3
    # stored per-image IoU = |pred ∧ target| / |pred ∨ target| of the p ≥ 0.5 mask, by hand
    mask = data["pred"][-1] >= 128
    target = data["targets"].astype(bool)
    inter, union = (mask & target).sum(axis=(1, 2)), (mask | target).sum(axis=(1, 2))
    hand = np.where(union > 0, inter / np.maximum(union, 1), np.nan)
    np.testing.assert_allclose(data["iou"][-1], hand, atol=1e-6)


def test_multi_class_runs_keep_class_ids(runs):
    data = RunStore(runs["home"]).epoch_predictions(runs["aerial"])
    assert data["kind"] == "labels" and data["num_classes"] == 6
    assert data["pred"].dtype == np.uint8 and data["pred"].max() < 6
    with pytest.raises(ValueError, match="multi-class"):
        ep.probabilities(data)


def test_size_bound_per_run(runs, tmp_path):
    assert 0 < ep.stored_bytes(RunStore(runs["home"]).run_dir(runs["unet"])) <= 2_000_000
    # worst case for compression, at the largest preset (128 px, 40 epochs): pure noise
    rng = np.random.default_rng(0)
    k, size, epochs = ep.EPOCH_IMAGES, preset("study").size, preset("study").epochs
    masks = rng.integers(0, 2, (k, size, size)).astype(np.uint8)
    for epoch in range(1, epochs + 1):
        preview = {
            "images": rng.integers(0, 256, (k, size, size, 3), dtype=np.uint8),
            "masks": masks,
            "probs": rng.random((k, size, size)).astype(np.float16),
            "iou": rng.random(k).astype(np.float32),
        }
        ep.write_epoch(tmp_path, epoch, preview, np.arange(k), 2)
    assert ep.stored_bytes(tmp_path) <= 2_000_000
    data = ep.read(tmp_path)
    side = size // ep.stride_for(size, size)
    assert side <= ep.MAX_SIDE and data["pred"].shape == (epochs, k, side, side)
    np.testing.assert_array_equal(data["targets"], masks[:, :: size // side, :: size // side])
    np.testing.assert_array_equal(
        data["pred"][-1], np.round(preview["probs"][:, ::2, ::2].astype(np.float32) * 255).astype(np.uint8)
    )


def test_stride_for():
    assert [ep.stride_for(h, h) for h in (32, 64, 65, 128, 256)] == [1, 1, 2, 2, 4]
    assert ep.stride_for(64, 200) == 4


def test_runs_without_the_files_and_leftover_epochs(runs, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(runs["home"], home)
    store = RunStore(home)
    run_dir = store.run_dir(runs["unet"])
    # a file left from before a resume, past the history: ignored
    shutil.copy(run_dir / ep.FOLDER / "e0002.npz", run_dir / ep.FOLDER / "e0003.npz")
    assert store.epoch_predictions(runs["unet"])["epochs"] == [1, 2]
    assert store.epoch_predictions(runs["unet"], latest_only=True)["pred"].shape[0] == 1
    # an older run (or one imported from an older SegLab): no folder at all
    shutil.rmtree(run_dir / ep.FOLDER)
    assert store.epoch_predictions(runs["unet"]) is None


def test_exported_runs_carry_their_epoch_predictions(runs, tmp_path):
    zip_path = RunStore(runs["home"]).export_runs([runs["segnet"]], tmp_path / "runs.zip")
    other = RunStore(tmp_path / "other")
    assert other.import_runs(zip_path) == [runs["segnet"]]
    assert other.epoch_predictions(runs["segnet"])["epochs"] == [1, 2]


def test_pick_positions_are_spread_and_distinct():
    assert ep.pick_positions(3).tolist() == [0, 1, 2]
    assert ep.pick_positions(16, 8).tolist() == [0, 2, 4, 6, 8, 10, 12, 14]
    picked = ep.pick_positions(57, 8)
    assert len(set(picked.tolist())) == 8 and picked.min() == 0 and picked.max() < 57
    with pytest.raises(ValueError):
        ep.pick_positions(0)


def test_a_writer_without_the_method_still_trains(tmp_path):
    class PlainWriter:
        def __init__(self, path: Path) -> None:
            self._files = RunFiles(path)

        def __getattr__(self, name: str) -> Any:
            if name == "save_epoch_predictions":
                raise AttributeError(name)
            return getattr(self._files, name)

    result = engine.train(preset("smoke"), writer=PlainWriter(tmp_path / "run"))
    assert result.ok and not (tmp_path / "run" / ep.FOLDER).exists()


# ---- error analysis ---------------------------------------------------------------------
def test_error_analysis_worst_first_and_threshold(runs):
    store = RunStore(runs["home"])
    preds = {r: store.predictions(runs[r]) for r in ("unet", "segnet")}
    n_test = len(engine.load_data(runs["unet_config"])[1]["test"])
    assert len(preds["unet"]["test_masks"]) == min(engine.TEST_PREVIEW_IMAGES, n_test)
    names = {runs["unet"]: "U", runs["segnet"]: "S"}
    table, skipped = ea.per_image_table({runs[r]: p for r, p in preds.items()}, names, threshold=0.5)
    assert skipped == [] and len(table) == len(preds["unet"]["test_masks"])
    assert table["mean"].is_monotonic_increasing
    np.testing.assert_allclose(table["mean"], (table["U"] + table["S"]) / 2)
    # at threshold 0.5 the IoU matches the labels the engine stored (p ≥ 0.5 ⇔ logit ≥ 0)
    stored = ea.image_ious(preds["unet"], None)
    by_image = table.set_index("image")["U"].sort_index().to_numpy()
    np.testing.assert_allclose(by_image, stored, atol=0.02)
    # threshold 0: every pixel foreground, so IoU = the image's foreground share
    masks = preds["unet"]["test_masks"].astype(bool)
    share = masks.mean(axis=(1, 2))
    np.testing.assert_allclose(ea.image_ious(preds["unet"], 0.0), share, atol=1e-9)


def test_error_analysis_hand_example_and_skips_other_images():
    masks = np.zeros((2, 2, 2), dtype=np.uint8)
    masks[0, 0, :] = 1  # two foreground pixels in image 0; image 1 is empty
    probs = np.array([[[0.9, 0.4], [0.6, 0.1]], [[0.2, 0.2], [0.2, 0.2]]], dtype=np.float16)
    arrays = {"test_masks": masks, "test_probs": probs, "test_preds": (probs >= 0.5).astype(np.uint8)}
    arrays["test_images"] = np.zeros((2, 2, 2, 3), dtype=np.uint8)
    # t = 0.5: image 0 predicts {(0,0),(1,0)}: TP 1, FP 1, FN 1 → 1/3; image 1: nothing, empty → 1
    np.testing.assert_allclose(ea.image_ious(arrays, 0.5), [1 / 3, 1.0])
    # t = 0.35: image 0 predicts {(0,0),(0,1),(1,0)}: TP 2, FP 1 → 2/3
    np.testing.assert_allclose(ea.image_ious(arrays, 0.35), [2 / 3, 1.0])
    other = {**arrays, "test_masks": 1 - masks}
    table, skipped = ea.per_image_table({"a": arrays, "b": other}, {"a": "A"}, 0.5)
    assert skipped == ["b"] and list(table.columns) == ["image", "A", "mean"]
    assert table["image"].tolist() == [0, 1]
    with pytest.raises(ValueError):
        ea.threshold_labels(probs, 1.5)


# ---- the pages: Train live view, Results scrubber and error analysis ----------------------
def use_home(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    monkeypatch.setenv("SEGLAB_HOME", str(home))


def results_page(home: Path) -> AppTest:
    at = AppTest.from_file(str(PAGES / "results.py"), default_timeout=90)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    pick_dataset(at, "shapes")  # the store also holds an aerial run: a comparison of its own
    return at


def pick_dataset(at: AppTest, dataset: str) -> None:
    """Choose the comparison of the runs on ``dataset`` (the page warns that the store mixes data)."""
    box = at.selectbox(key="rs_comparison")
    index = next(i for i, label in enumerate(box.options) if f"dataset={dataset}" in label)
    box.set_value(index).run()
    assert not at.exception, [e.value for e in at.exception]


def captions(at: AppTest) -> list[str]:
    return [c for image in at.get("image") for c in image.captions]


def test_results_scrubber_plays_through_the_epochs(runs, monkeypatch):
    use_home(monkeypatch, runs["home"])
    at = results_page(runs["home"])
    shown_before = len(at.get("image"))
    at.toggle(key="ev_show_epochs").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    slider = at.slider(key="ev_epoch")
    assert (slider.min, slider.max, slider.value) == (1, EPOCHS, EPOCHS)
    strips = at.get("image")[shown_before:]
    assert len(strips) == 1 + 2  # ground truth, then one strip per run of the study
    texts = captions(at)
    assert any(t.startswith("unet + bce · seed 0 · epoch 2") for t in texts), texts
    assert any(t.startswith("segnet + dice · seed 7 · epoch 2") for t in texts), texts
    # the stored IoU of the shown epoch is in the caption
    data = RunStore(runs["home"]).epoch_predictions(runs["unet"])
    assert any(f"{np.nanmean(data['iou'][-1]):.2f}" in t for t in texts if t.startswith("unet"))
    at.slider(key="ev_epoch").set_value(1).run()
    assert any(t.startswith("unet + bce · seed 0 · epoch 1") for t in captions(at))
    # play: each tick moves one epoch on, and wraps round after the last
    at.toggle(key="ev_play").set_value(True).run()
    assert at.slider(key="ev_epoch").value == 2
    at.run()
    assert at.slider(key="ev_epoch").value == 1
    at.radio(key="ev_mode").set_value("probability").run()
    assert not at.exception


def test_results_error_analysis_worst_first_with_threshold(runs, monkeypatch):
    use_home(monkeypatch, runs["home"])
    at = results_page(runs["home"])
    tiles_before = sum(c.startswith("IoU ") for c in captions(at))  # the page's own mask grid
    at.toggle(key="ev_show_errors").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    table = next(d.value for d in at.dataframe if "mean" in d.value.columns)
    assert len(table) == 8 and table["mean"].is_monotonic_increasing
    # Numbered from 1, like the Predicted masks tab's "test image N" captions of the same images.
    assert sorted(table["image"]) == list(range(1, 9))
    worst = int(table["image"].iloc[0])
    assert f"test image {worst}" in captions(at)
    n_tiles = sum(c.startswith("IoU ") for c in captions(at)) - tiles_before
    assert n_tiles == at.slider(key="ev_n_worst").value * 2
    at.slider(key="ev_threshold").set_value(0.05).run()
    low = next(d.value for d in at.dataframe if "mean" in d.value.columns)
    preds = RunStore(runs["home"]).predictions(runs["unet"])
    expected = ea.image_ious(preds, 0.05)
    got = low.set_index("image")["unet + bce · seed 0"].sort_index().to_numpy()
    np.testing.assert_allclose(got, expected)
    assert any("at this threshold" in c.value for c in at.caption)


def test_results_say_when_a_run_kept_no_epoch_predictions(runs, monkeypatch, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(runs["home"], home)
    shutil.rmtree(RunStore(home).run_dir(runs["segnet"]) / ep.FOLDER)
    use_home(monkeypatch, home)
    at = results_page(home)
    at.toggle(key="ev_show_epochs").set_value(True).run()
    assert not at.exception
    assert any("Not stored for segnet + dice · seed 7" in c.value for c in at.caption)
    assert any(t.startswith("unet + bce · seed 0 · epoch") for t in captions(at))


def render_live_run(job) -> None:  # AppTest runs it as its own script
    from seglab.ui import train_views

    train_views.show_live_run(job)


def test_train_page_shows_the_running_jobs_latest_predictions(runs, monkeypatch, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(runs["home"], home)
    use_home(monkeypatch, home)
    with JobQueue(home) as queue:
        queued = queue.job(queue.enqueue(runs["unet_config"]))
    # the job as the Train page's polling fragment sees it while a worker trains it
    job = dataclasses.replace(queued, status="running", run_id=runs["unet"], progress={"epoch": EPOCHS})
    at = AppTest.from_function(render_live_run, args=(job,), default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    texts = captions(at)
    assert "Validation images with their ground truth" in texts
    assert any(t.startswith(f"Predicted foreground probability after epoch {EPOCHS}") for t in texts), texts
    assert any(t.startswith(f"Errors after epoch {EPOCHS}") for t in texts), texts
    # before the first epoch ends there is nothing to show yet, said in words
    shutil.rmtree(RunStore(home).run_dir(runs["unet"]) / ep.FOLDER)
    at.run()
    assert not at.get("image")
    assert any("appear after the first epoch" in c.value for c in at.caption)


def test_results_views_of_a_multi_class_run(runs, monkeypatch):
    use_home(monkeypatch, runs["home"])
    at = AppTest.from_file(str(PAGES / "results.py"), default_timeout=90)
    at.run()
    pick_dataset(at, "aerial")
    at.toggle(key="ev_show_epochs").set_value(True).run()
    at.toggle(key="ev_show_errors").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    assert "ev_threshold" not in [w.key for w in at.slider]  # argmax over classes: no threshold to move
    assert any("no threshold" in c.value for c in at.caption)
    assert any("green = the right class" in c.value for c in at.caption)
    table = next(d.value for d in at.dataframe if "mean" in d.value.columns)
    expected = np.sort(ea.image_ious(RunStore(runs["home"]).predictions(runs["aerial"])))
    np.testing.assert_allclose(table["mean"].to_numpy(), expected)


def test_run_names_stay_distinct_for_twin_configs(runs, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(runs["home"], home)
    twin = runs["unet"][:-4] + "zzzz"
    shutil.copytree(home / runs["unet"], home / twin)
    names = ev.run_names(RunStore(home), [runs["unet"], twin])
    assert len(set(names.values())) == 2 and all(n.startswith("unet + bce · seed 0") for n in names.values())
