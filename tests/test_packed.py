"""Packed training (seglab.training.packed) against the same runs trained one by one.

The oracle is the engine itself: ``engine.train`` on each config alone. A pack must give each
member the weights, optimiser state, history and test metrics of its solo run, up to float
rounding (a grouped convolution sums in another order); a member that diverges or is
cancelled must leave the others exactly as they would be without it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch

from seglab.errors import ConfigError
from seglab.settings.config import TrainConfig
from seglab.settings.presets import STUDY_ARCHS, STUDY_LOSSES, preset
from seglab.settings.study import Study
from seglab.store.checks import check_history_text, check_summary
from seglab.store.run_store import RunStore
from seglab.training.engine import TrainResult, train
from seglab.training.packed import (
    PackMember,
    pack_groups,
    pack_key,
    packing_wanted,
    train_packed,
)

# Small enough for the shared 2-core machine, large enough that the metrics move between epochs.
BASE = TrainConfig(
    size=32,
    n=64,
    width=8,
    depth=2,
    batch_size=8,
    epochs=3,
    lr=1e-2,
    augment=True,
    device="cpu",
    precision="fp32",
    num_threads=1,
)
# Members differ in everything a pack allows: loss (one with side outputs), seed, learning
# rate and schedule, optimiser, weight decay. Learning rates are moderate: with Adam at 1e-2 the
# rounding differences of the grouped convolutions grow into visibly different runs within
# three epochs (Adam turns near-zero gradients into full-size steps), alone or packed.
MEMBERS = [
    BASE.replace(loss="bce", seed=0, lr=3e-3),
    BASE.replace(loss="dice", seed=3, optimizer="sgd", lr=0.1, lr_schedule="constant"),
    BASE.replace(loss="bce_ds", seed=2, optimizer="adamw", weight_decay=0.01, lr=1e-3),
    BASE.replace(loss="focal", seed=0, optimizer="sgd", lr=0.05),
]
LOSS_TOL = 5e-4  # absolute, on losses near 0.5; a wrong batch or step shows at 1e-2 in epoch 1
IOU_TOL = 2e-3  # a few pixels flipping class
WEIGHT_TOL = 1e-2  # largest single weight difference (one Adam step on a noise-level gradient)
WEIGHT_MEAN_TOL = 1e-4  # mean absolute weight difference


def _train_alone(store: RunStore, config: TrainConfig, **kwargs: Any) -> tuple[str, TrainResult]:
    run_id = store.create_run(config)
    return run_id, train(config, run_dir=store.run_dir(run_id), **kwargs)


def _train_pack(store: RunStore, members: list[PackMember]) -> tuple[list[str], list[TrainResult]]:
    ids = [store.create_run(m.config) for m in members]
    for m, run_id in zip(members, ids, strict=True):
        m.run_dir = store.run_dir(run_id)
    return ids, train_packed(members)


def _mark_interrupted(store: RunStore, run_id: str) -> None:
    """As a worker killed after the run's last checkpoint leaves it (once the queue notices):
    only an interrupted or cancelled run may be resumed."""
    path = store.files(run_id).file("summary.json")
    summary = json.loads(path.read_text())
    path.write_text(json.dumps({**summary, "status": "interrupted", "finished": None}))


@pytest.fixture(scope="module")
def solo_and_packed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    home = tmp_path_factory.mktemp("packed")
    alone, packed = RunStore(home / "alone"), RunStore(home / "packed")
    solo = [_train_alone(alone, c) for c in MEMBERS]
    ids, results = _train_pack(packed, [PackMember(c) for c in MEMBERS])
    return {"alone": alone, "packed": packed, "solo": solo, "pack": list(zip(ids, results, strict=True))}


def _assert_same_run(
    store_a: RunStore, a: tuple[str, TrainResult], store_b: RunStore, b: tuple[str, TrainResult]
):
    (id_a, ra), (id_b, rb) = a, b
    assert ra.status == rb.status and ra.best_epoch == rb.best_epoch and ra.epochs_run == rb.epochs_run
    for ha, hb in zip(ra.history, rb.history, strict=True):
        for key in ("train_loss", "val_loss", "lr"):
            assert hb[key] == pytest.approx(ha[key], abs=LOSS_TOL), (key, ha["epoch"])
        for key in ("val_iou", "val_dice", "val_accuracy"):
            assert hb[key] == pytest.approx(ha[key], abs=IOU_TOL), (key, ha["epoch"])
    assert rb.test_metrics.get("loss") == pytest.approx(ra.test_metrics.get("loss"), abs=LOSS_TOL)
    for key in ("iou", "dice", "accuracy"):
        assert rb.test_metrics.get(key) == pytest.approx(ra.test_metrics.get(key), abs=IOU_TOL), key
    for which in ("best", "last"):
        ca, cb = (s.files(i).load_checkpoint(which) for s, i in ((store_a, id_a), (store_b, id_b)))
        sa, sb = (c["model"] if which == "last" else c for c in (ca, cb))
        assert sa.keys() == sb.keys()
        diffs = [(sb[k].double() - sa[k].double()).abs() for k in sa]
        assert max(float(x.max()) for x in diffs) <= WEIGHT_TOL
        assert float(torch.cat([x.flatten() for x in diffs]).mean()) <= WEIGHT_MEAN_TOL
        if which == "last":
            oa, ob = ca["optimizer"], cb["optimizer"]
            assert oa["param_groups"] == ob["param_groups"]
            assert oa["state"].keys() == ob["state"].keys()  # side heads idle alone stay idle packed
            assert ca["epoch"] == cb["epoch"] and ca["best_epoch"] == cb["best_epoch"]
            torch.testing.assert_close(cb["shuffle_rng"], ca["shuffle_rng"])
            torch.testing.assert_close(cb["aug_rng"], ca["aug_rng"])


def test_pack_gives_each_member_its_solo_run(solo_and_packed: dict[str, Any]) -> None:
    d = solo_and_packed
    assert [r.status for _, r in d["pack"]] == ["done"] * len(MEMBERS)
    assert len({round(r.test_metrics["loss"], 3) for _, r in d["pack"]}) == len(MEMBERS)  # they differ
    assert any(r.history[0]["val_iou"] != r.history[-1]["val_iou"] for _, r in d["solo"])  # they learn
    for a, b in zip(d["solo"], d["pack"], strict=True):
        _assert_same_run(d["alone"], a, d["packed"], b)


def test_packed_checkpoints_hold_only_their_own_member(solo_and_packed: dict[str, Any]) -> None:
    d = solo_and_packed
    for (id_a, _), (id_b, _) in zip(d["solo"], d["pack"], strict=True):
        for which in ("best", "last"):
            size_a = d["alone"].checkpoint_path(id_a, which).stat().st_size
            size_b = d["packed"].checkpoint_path(id_b, which).stat().st_size
            assert size_b < 1.1 * size_a  # not the whole stack of weights


def test_packed_run_folders_pass_the_store_checks_and_resume(
    solo_and_packed: dict[str, Any], tmp_path: Path
) -> None:
    d = solo_and_packed
    store = RunStore(tmp_path / "copy")
    store.home.mkdir(parents=True, exist_ok=True)
    for run_id, _ in d["pack"]:
        shutil.copytree(d["packed"].run_dir(run_id), store.run_dir(run_id))
    assert store.unreadable_runs() == []
    assert sorted(r.id for r in store.list_runs()) == sorted(i for i, _ in d["pack"])
    for run_id, result in d["pack"]:
        files = store.files(run_id)
        summary = files.read_summary()
        check_summary(summary)
        check_history_text(files.file("history.jsonl").read_bytes())
        assert summary["status"] == "done" and summary["packed_runs"] == len(MEMBERS)
        assert summary["metrics"]["test_iou"] == pytest.approx(result.test_metrics["iou"])
        assert store.load_model(run_id) is not None
    # the engine, alone, carries a packed run on for one more epoch
    run_id, _ = d["pack"][1]
    _mark_interrupted(store, run_id)
    more = train(MEMBERS[1].replace(epochs=4), run_dir=store.run_dir(run_id), resume=True)
    assert more.status == "done" and [h["epoch"] for h in more.history] == [1, 2, 3, 4]
    assert len(store.history(run_id)) == 4


def test_a_pack_resumes_its_members_like_the_engine(solo_and_packed: dict[str, Any], tmp_path: Path) -> None:
    d = solo_and_packed
    alone, packed = RunStore(tmp_path / "alone"), RunStore(tmp_path / "packed")
    picks = [0, 3]
    for src, dst, runs in ((d["alone"], alone, d["solo"]), (d["packed"], packed, d["pack"])):
        dst.home.mkdir(parents=True, exist_ok=True)
        for i in picks:
            shutil.copytree(src.run_dir(runs[i][0]), dst.run_dir(runs[i][0]))
            _mark_interrupted(dst, runs[i][0])
    longer = [MEMBERS[i].replace(epochs=5) for i in picks]
    solo = [
        (d["solo"][i][0], train(c, run_dir=alone.run_dir(d["solo"][i][0]), resume=True))
        for i, c in zip(picks, longer, strict=True)
    ]
    members = [
        PackMember(c, run_dir=packed.run_dir(d["pack"][i][0]), resume=True)
        for i, c in zip(picks, longer, strict=True)
    ]
    results = train_packed(members)
    for a, (i, b) in zip(solo, zip(picks, results, strict=True), strict=True):
        assert [h["epoch"] for h in b.history] == [1, 2, 3, 4, 5]
        _assert_same_run(alone, a, packed, (d["pack"][i][0], b))


def test_a_diverging_member_does_not_stop_the_others(solo_and_packed: dict[str, Any], tmp_path: Path) -> None:
    d = solo_and_packed
    wild = BASE.replace(loss="bce", seed=5, optimizer="sgd", lr=1e35)
    store = RunStore(tmp_path / "home")
    ids, results = _train_pack(store, [PackMember(MEMBERS[0]), PackMember(wild), PackMember(MEMBERS[1])])
    alone = train(wild)
    assert results[1].status == "diverged" == alone.status
    assert results[1].message == alone.message and "learning rate" in results[1].message
    assert store.load_run(ids[1]).status == "diverged"
    _assert_same_run(d["alone"], d["solo"][0], store, (ids[0], results[0]))
    _assert_same_run(d["alone"], d["solo"][1], store, (ids[2], results[2]))


def test_a_cancelled_member_does_not_stop_the_others(solo_and_packed: dict[str, Any], tmp_path: Path) -> None:
    d = solo_and_packed
    polls = {"n": 0}

    def stop_in_epoch_two() -> bool:
        polls["n"] += 1
        return polls["n"] > 6 + 3  # 44 training images, 6 batches: cancelled at batch 4 of epoch 2

    store = RunStore(tmp_path / "home")
    members = [
        PackMember(MEMBERS[0]),
        PackMember(MEMBERS[2], should_stop=stop_in_epoch_two),
        PackMember(MEMBERS[3]),
    ]
    ids, results = _train_pack(store, members)
    assert results[1].status == "cancelled" and "epoch 2 (batch 4 of 6)" in results[1].message
    assert results[1].epochs_run == 1 and store.load_run(ids[1]).status == "cancelled"
    _assert_same_run(d["alone"], d["solo"][0], store, (ids[0], results[0]))
    _assert_same_run(d["alone"], d["solo"][3], store, (ids[2], results[2]))
    # resumed alone, the cancelled member ends as if it had never been packed or stopped
    resumed = train(MEMBERS[2], run_dir=store.run_dir(ids[1]), resume=True)
    _assert_same_run(d["alone"], d["solo"][2], store, (ids[1], resumed))


def test_the_study_preset_packs_one_architecture_per_pack() -> None:
    study = Study(preset("study"), {"arch": list(STUDY_ARCHS), "loss": list(STUDY_LOSSES)}, seeds=[0, 1, 2])
    configs = study.expand()
    groups = pack_groups(configs, limit=16)
    assert sorted(len(g) for g in groups) == [12, 12, 12, 12]
    for g in groups:
        assert len({configs[i].arch for i in g}) == 1
        assert {(configs[i].loss, configs[i].seed) for i in g} == {
            (lo, s) for lo in STUDY_LOSSES for s in (0, 1, 2)
        }
    assert sorted(len(g) for g in pack_groups(configs, limit=8)) == [4, 4, 4, 4, 8, 8, 8, 8]
    frozen = configs[0].replace(freeze_encoder_epochs=2)
    assert pack_groups([configs[0], frozen, configs[1]], limit=16) == [[0, 2], [1]]
    assert pack_key(configs[0]) != pack_key(configs[0].replace(batch_size=8))


@pytest.mark.parametrize(
    ("setting", "cuda", "cpu"),
    [
        (None, True, False),
        ("auto", True, False),
        ("off", False, False),
        ("0", False, False),
        ("on", True, True),
    ],
)
def test_packing_is_automatic_on_cuda_only_and_can_be_switched(
    monkeypatch: pytest.MonkeyPatch, setting: str | None, cuda: bool, cpu: bool
) -> None:
    if setting is None:
        monkeypatch.delenv("SEGLAB_PACK", raising=False)
    else:
        monkeypatch.setenv("SEGLAB_PACK", setting)
    assert packing_wanted("cuda") is cuda and packing_wanted("cpu") is cpu


def test_bad_settings_and_mixed_runs_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEGLAB_PACK", "sometimes")
    with pytest.raises(ConfigError, match="SEGLAB_PACK"):
        packing_wanted("cuda")
    with pytest.raises(ConfigError, match="one pack"):
        train_packed([PackMember(MEMBERS[0]), PackMember(MEMBERS[0].replace(arch="segnet"))])


# ---- the worker packs queued jobs --------------------------------------------------------------
SMALL = TrainConfig(size=32, n=24, width=4, depth=2, batch_size=8, epochs=2, device="cpu", num_threads=1)


@pytest.mark.parametrize("setting", ["on", "off"])
def test_the_worker_packs_a_study_when_asked(
    seglab_home: Path, monkeypatch: pytest.MonkeyPatch, setting: str
) -> None:
    from seglab.jobs import JobQueue, run_worker

    monkeypatch.setenv("SEGLAB_PACK", setting)
    q = JobQueue()
    group = q.enqueue_study(Study(SMALL, {"loss": ["bce", "dice"]}, seeds=[0, 1]))
    other = q.enqueue(SMALL.replace(arch="fcn"))
    wild = q.enqueue(SMALL.replace(optimizer="sgd", lr=1e35), group=group)
    assert run_worker(once=True, verbose=False, device="cpu") == 6
    jobs = {j.id: j for j in q.jobs()}
    store = RunStore(seglab_home)
    packed = {j.id: store.files(j.run_id).read_summary().get("packed_runs") for j in jobs.values()}
    assert jobs[wild].status == "diverged" and jobs[other].status == "done"
    assert all(j.status == "done" for i, j in jobs.items() if i not in (wild, other))
    for job in jobs.values():
        assert store.load_run(job.run_id).status == job.status
        if job.status == "done":
            assert job.result["test_iou"] == pytest.approx(store.load_run(job.run_id).metrics["test_iou"])
    if setting == "on":  # the study's four runs and the wild one share a pack; fcn trains alone
        assert packed[other] is None and {packed[i] for i in jobs if i != other} == {5}
    else:
        assert set(packed.values()) == {None}


def test_running_out_of_memory_fails_every_member_with_a_hint(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from seglab.training import packed

    def out_of_memory(self: Any, epoch: int, active: list[int]) -> None:
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(packed._Pack, "_train_epoch", out_of_memory)
    store = RunStore(tmp_path / "home")
    ids, results = _train_pack(store, [PackMember(SMALL), PackMember(SMALL.replace(seed=1))])
    assert [r.status for r in results] == ["failed", "failed"]
    for run_id, result in zip(ids, results, strict=True):
        assert "ran out of memory" in result.message and "SEGLAB_PACK_MAX" in result.message
        assert store.load_run(run_id).status == "failed"
