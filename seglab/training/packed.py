"""Packed training: the runs of a study that share a model and data train as one model.

Small classroom models (width 32, 128 px, batch 32) leave a large GPU waiting on kernel
launches: each convolution is too small to fill the chip, whatever the number of processes.
Packing trains M such runs in one process as one M-times-wider model, so every kernel does M
runs' work (the idea of HFTA, Wang et al., MLSys 2021, and of packed ensembles):

* The members' weights are stacked along a new first dimension (one tensor of shape
  ``(M, *shape)`` per parameter and buffer) and the forward pass is the ordinary model under
  ``torch.func.vmap`` + ``functional_call``: convolutions become grouped convolutions, one
  group per member, and BatchNorm computes its batch statistics and updates its running
  statistics per member, exactly as when the member trains alone.
* Each member keeps its own everything else: loss, optimiser (a plain torch optimiser whose
  parameters share storage with its slice of the stack), learning-rate schedule, shuffling and
  augmentation generators (seeded as the engine seeds them), history, checkpoints, run folder
  and callbacks. The engine's own code does the set-up, the evaluation, the checkpoints and
  the finish for each member (`seglab.training.engine._Run`); only the training step is
  packed. So a member's run folder is the one the engine would write training it alone, up to
  float rounding (a grouped convolution sums in a different order).
* The total loss is the sum of the members' losses; a member's gradient depends on its own
  loss only. A member that is cancelled or diverges is finished on its own (as the engine
  would) and the stack is rebuilt without it; the others go on.

What may differ between members (`PACK_FREE_FIELDS`): loss and its parameters, seed, learning
rate and schedule, optimiser, weight decay and epochs. Everything else (architecture, width,
depth, model options, data, batch size, augmentation, precision, device) must be the same
(`pack_key`). Runs that freeze their encoder for some epochs are not packed.

When: ``$SEGLAB_PACK`` = ``auto`` (default: pack on CUDA only; on a CPU the grouped kernels
are no faster than the same work one run at a time), ``on`` (always, also on the CPU) or
``off``. ``$SEGLAB_PACK_MAX`` caps the members of one pack (default 16).
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from seglab.errors import ConfigError, SegLabError
from seglab.settings.config import TrainConfig
from seglab.status import RunStatus
from seglab.training.engine import (
    TrainResult,
    _autocast,
    _batches,
    _Callbacks,
    _divergence_message,
    _is_oom,
    _oom_message,
    _record_internal_error,
    _Run,
    _Stop,
    check_resumable,
    scheduled_lr,
)
from seglab.training.runwriter import RunWriter, folder_writer
from seglab.training.threads import effective_threads

# Config fields that may differ between the members of one pack.
PACK_FREE_FIELDS = frozenset(
    {"loss", "loss_params", "seed", "lr", "lr_schedule", "optimizer", "weight_decay", "epochs", "num_threads"}
)
PACK_MODES = ("auto", "on", "off")
PACK_MAX_DEFAULT = 16


# ---- when and what to pack ---------------------------------------------------------------
def pack_key(config: TrainConfig) -> str:
    """Runs with equal keys can share a pack: every config field but `PACK_FREE_FIELDS`."""
    return json.dumps(
        {k: v for k, v in config.to_dict().items() if k not in PACK_FREE_FIELDS}, sort_keys=True
    )


def can_pack(config: TrainConfig) -> bool:
    """Whether this run may join a pack at all (runs that freeze their encoder may not)."""
    return config.freeze_encoder_epochs == 0


def packing_mode() -> str:
    """``$SEGLAB_PACK``: auto (default), on or off (also 1/0, yes/no, true/false)."""
    text = os.environ.get("SEGLAB_PACK", "auto").strip().lower() or "auto"
    text = {"1": "on", "yes": "on", "true": "on", "0": "off", "no": "off", "false": "off"}.get(text, text)
    if text not in PACK_MODES:
        raise ConfigError(f"SEGLAB_PACK must be auto, on or off, not {text!r}.")
    return text


def packing_wanted(device_type: str) -> bool:
    """Pack runs on this device? ``auto`` packs on CUDA only (see the module docstring)."""
    mode = packing_mode()
    return mode == "on" or (mode == "auto" and device_type == "cuda")


def pack_limit() -> int:
    """Most members in one pack (``$SEGLAB_PACK_MAX``, default 16)."""
    text = os.environ.get("SEGLAB_PACK_MAX", "").strip()
    try:
        return max(1, int(text)) if text else PACK_MAX_DEFAULT
    except ValueError:
        raise ConfigError(f"SEGLAB_PACK_MAX must be a whole number, not {text!r}.") from None


def pack_groups(configs: Sequence[TrainConfig], limit: int | None = None) -> list[list[int]]:
    """Positions of ``configs`` grouped into packs (at most ``limit`` each), in first-seen order;
    a run that cannot be packed is a group of its own."""
    limit = pack_limit() if limit is None else max(1, limit)
    groups: list[list[int]] = []
    open_by_key: dict[str, list[int]] = {}
    for i, config in enumerate(configs):
        if not can_pack(config):
            groups.append([i])
            continue
        key = pack_key(config)
        group = open_by_key.get(key)
        if group is None or len(group) >= limit:
            group = []
            open_by_key[key] = group
            groups.append(group)
        group.append(i)
    return groups


# ---- one member -----------------------------------------------------------------------------
@dataclass
class PackMember:
    """One run of a pack: what ``engine.train`` would be given for it alone."""

    config: TrainConfig
    callbacks: Any = None
    run_dir: str | os.PathLike[str] | None = None
    writer: RunWriter | None = None
    should_stop: Callable[[], bool] | None = None
    resume: bool = False


class _CompactWriter:
    """A run writer whose checkpoints hold copies of the member's own tensors: a member's
    weights are views into the pack's stacked tensors, and ``torch.save`` of a view would
    store the whole stack."""

    def __init__(self, inner: RunWriter) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def save_checkpoint(self, which: str, obj: Any) -> Any:
        return self._inner.save_checkpoint(which, _compact(obj))


def _compact(obj: Any) -> Any:
    if isinstance(obj, torch.Tensor):
        own_bytes = obj.numel() * obj.element_size()
        return obj.clone() if obj.untyped_storage().nbytes() != own_bytes else obj
    if isinstance(obj, dict):
        return type(obj)((k, _compact(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(_compact(v) for v in obj)
    return obj


# ---- the pack -------------------------------------------------------------------------------
def train_packed(members: Sequence[PackMember]) -> list[TrainResult]:
    """Train ``members`` together as one packed model; one ``TrainResult`` per member, in order.

    Every member ends as it would alone (done, cancelled, diverged, failed), independently of
    the others. All members must share a `pack_key` and be `can_pack`; resuming members are
    checked as ``engine.train(resume=True)`` checks them (ConfigError, nothing touched).
    """
    if not members:
        return []
    keys = {pack_key(m.config) for m in members}
    if len(keys) != 1 or not all(can_pack(m.config) for m in members):
        raise ConfigError(
            "these runs cannot train as one pack: they differ in more than loss, seed, "
            "learning rate, optimiser and epochs, or one freezes its encoder."
        )
    runs: list[_Run] = []
    for m in members:
        writer = m.writer if m.writer is not None else folder_writer(m.run_dir) if m.run_dir else None
        if m.resume:
            if writer is None:
                raise ValueError("resume=True needs the run_dir of the run to continue")
            check_resumable(m.config, writer)
        wrapped = _CompactWriter(writer) if writer is not None else None
        runs.append(_Run(m.config, _Callbacks(m.callbacks), wrapped, m.should_stop))  # type: ignore[arg-type]
    previous_threads = torch.get_num_threads()
    threads = effective_threads(members[0].config.num_threads)
    if threads is not None:
        torch.set_num_threads(max(1, threads))
    torch.set_flush_denormal(True)
    try:
        return _Pack(runs, [m.resume for m in members]).execute()
    finally:
        if threads is not None:
            torch.set_num_threads(previous_threads)


class _Pack:
    """The members' engine runs plus the stacked weights they train through."""

    def __init__(self, runs: list[_Run], resumes: list[bool]) -> None:
        self.runs = runs
        self.resumes = resumes
        self.results: list[TrainResult | None] = [None] * len(runs)
        self.stacked: list[int] = []  # members in the current stack, in stack order
        self.params: dict[str, torch.Tensor] = {}
        self.buffers: dict[str, torch.Tensor] = {}

    # -- driving --
    def execute(self) -> list[TrainResult]:
        try:
            self._setup_all()
            live = self._unfinished()
            if live:
                self._build_forward(live[0])
                first = min(self.runs[i].start_epoch for i in live)
                last = max(self.runs[i].config.epochs for i in live)
                for epoch in range(first, last + 1):
                    active = [
                        i
                        for i in self._unfinished()
                        if self.runs[i].start_epoch <= epoch <= self.runs[i].config.epochs
                    ]
                    if active:
                        self._epoch(epoch, active)
                for i in self._unfinished():  # already past their epochs when resumed
                    self._finish(i, RunStatus.DONE, "")
        except (KeyboardInterrupt, SystemExit):
            for i in self._unfinished():
                run = self.runs[i]
                self.results[i] = run._finish(
                    RunStatus.INTERRUPTED, f"interrupted during epoch {run.epoch}", fire=False
                )
            raise
        except BaseException as exc:
            if not _is_oom(exc):
                for i in self._unfinished():
                    with contextlib.suppress(Exception):
                        self.results[i] = self.runs[i]._finish(
                            RunStatus.FAILED, f"internal error: {type(exc).__name__}: {exc}", fire=False
                        )
                raise
            if self.runs[0].device.type == "cuda":
                torch.cuda.empty_cache()
            for i in self._unfinished():
                run = self.runs[i]
                run.best_state = None  # nothing more is computed after running out of memory
                message = _oom_message(run.epoch, run.config, run.device)
                if len(self.runs) > 1:
                    message += (
                        f" {len(self.runs)} runs were trained together as one packed model; "
                        "set SEGLAB_PACK_MAX lower (or SEGLAB_PACK=off) to pack fewer."
                    )
                self._finish(i, RunStatus.FAILED, message)
        return [r for r in self.results if r is not None]

    def _unfinished(self) -> list[int]:
        return [i for i, r in enumerate(self.results) if r is None]

    def _guarded(self, i: int, action: Callable[[], Any]) -> Any:
        """Run a member's own step; a stop or a user error finishes that member only."""
        try:
            return action()
        except _Stop as stop:
            self._finish(i, stop.status, stop.message)
        except SegLabError as exc:
            self._finish(i, RunStatus.FAILED, str(exc))
        return None

    def _finish(self, i: int, status: str, message: str) -> None:
        run = self.runs[i]
        try:
            self.results[i] = run._finish(status, message)
        except SegLabError as exc:  # its run folder went away (deleted while training): this member only
            self.results[i] = TrainResult(
                status=RunStatus.CANCELLED,
                message=str(exc),
                epochs_run=len(run.history),
                device=run.device_text,
            )
        except BaseException as exc:  # a bug while finishing: record it, stay loud
            _record_internal_error(run.files, exc)
            raise

    def _setup_all(self) -> None:
        leader: _Run | None = None
        for i, run in enumerate(self.runs):
            self._guarded(i, lambda run=run, resume=self.resumes[i]: (run._begin(), run._setup(resume)))
            if self.results[i] is not None:
                continue
            if leader is None:
                leader = run
            else:  # the same data settings: share the leader's tensors on the device
                run.ds, run.splits = leader.ds, leader.splits
            if run.files is not None:
                run._summary(packed_runs=len(self.runs))

    def _build_forward(self, leader: int) -> None:
        """The packed forward: the model under ``vmap`` over stacked weights, a meta-device
        copy of a member's model giving the structure."""
        from torch.func import functional_call, vmap

        from seglab.settings.build import build_model
        from seglab.training.speed import training_forward

        run = self.runs[leader]
        with torch.device("meta"):
            base = build_model(run.config, run.num_classes)
        base.train()
        self.want_aux = any(self.runs[i].uses_aux for i in self._unfinished())

        def one(params: dict[str, torch.Tensor], buffers: dict[str, torch.Tensor], x: torch.Tensor) -> Any:
            return functional_call(base, (params, buffers), (x,), {"return_aux": self.want_aux})

        self.forward = training_forward(vmap(one), run.device)  # type: ignore[arg-type]
        # parameters a member not using side outputs never trains (its side heads): they get
        # no gradient alone, so they get none in the pack either (no optimiser state, no decay)
        self.idle_params: set[str] = set()
        if self.want_aux and not all(self.runs[i].uses_aux for i in self._unfinished()):
            self.idle_params = _params_without_grad(run.model, run.config.size)

    def _restack(self, members: list[int]) -> None:
        """Stack the weights of ``members`` and make each member's parameters and buffers
        views of its slice (so its optimiser, evaluation and checkpoints use the stack)."""
        if members == self.stacked:
            return
        models = [self.runs[i].model for i in members]
        self.params, self.buffers = {}, {}
        for name, _ in models[0].named_parameters():
            stack = torch.stack([m.get_parameter(name).detach() for m in models])
            self.params[name] = stack.requires_grad_(True)
            for j, m in enumerate(models):
                m.get_parameter(name).data = stack.detach()[j]
        for name, _ in models[0].named_buffers():
            stack = torch.stack([m.get_buffer(name) for m in models])
            self.buffers[name] = stack
            owner, _, leaf = name.rpartition(".")
            for j, m in enumerate(models):
                m.get_submodule(owner)._buffers[leaf] = stack[j]
        self.stacked = list(members)

    # -- one epoch of the pack --
    def _epoch(self, epoch: int, active: list[int]) -> None:
        records = self._train_epoch(epoch, active)
        for i, record in records.items():
            if self.results[i] is not None:
                continue
            self._guarded(i, lambda i=i, record=record: self.runs[i]._end_epoch(epoch, record))
            if self.results[i] is None and epoch >= self.runs[i].config.epochs:
                self._finish(i, RunStatus.DONE, "")

    def _train_epoch(self, epoch: int, active: list[int]) -> dict[int, dict[str, Any]]:
        runs = self.runs
        lead = runs[active[0]]
        device, config = lead.device, lead.config
        if config.augment:
            from seglab.data import augment_batch
        train_x, train_y = lead.splits["train"]
        n = len(train_x)
        t_start = time.perf_counter()
        perms, loss_sums = {}, {}
        for i in active:
            runs[i].epoch = epoch
            runs[i].model.train()
            perms[i] = torch.randperm(n, generator=runs[i].shuffle_gen).to(device)
            loss_sums[i] = torch.zeros((), dtype=torch.float64, device=device)
        going = list(active)
        for b, (a, z) in enumerate(_batches(n, config.batch_size), start=1):
            for i in list(going):  # cancelled members finish before the batch, as alone
                run = runs[i]
                if run.should_stop is not None and run.should_stop():
                    going.remove(i)
                    self._finish(
                        i,
                        RunStatus.CANCELLED,
                        f"cancelled during epoch {epoch} (batch {b} of {run.n_batches}).",
                    )
            if not going:
                break
            self._restack(going)
            xs, ys = [], []
            for i in going:
                run = runs[i]
                ix = perms[i][a:z]
                x, y = train_x.index_select(0, ix), train_y.index_select(0, ix)
                if config.augment:
                    x, y = augment_batch(x, y, generator=run.aug_gen)
                xs.append(x)
                ys.append(y)
                lr = scheduled_lr(run.config, epoch, b, run.n_batches)
                for group in run.optimizer.param_groups:
                    group["lr"] = lr
            with _autocast(device, config.precision):
                out = self.forward(self.params, self.buffers, torch.stack(xs))
            losses = [self._member_loss(runs[i], out, j, ys[j]) for j, i in enumerate(going)]
            syncing = [device.type != "cuda" or runs[i].cb.has_on_batch for i in going]
            # one device sync for all members that need their loss now (the engine syncs once per batch)
            values = torch.stack([v.detach() for v in losses]).tolist() if any(syncing) else []
            total: torch.Tensor | None = None
            stepping: list[tuple[int, int, torch.Tensor, float | None]] = []  # (i, slot, loss, value)
            diverged: list[tuple[int, str]] = []
            for j, i in enumerate(going):
                run, loss = runs[i], losses[j]
                value = float(values[j]) if syncing[j] else None
                if value is not None and not math.isfinite(value):
                    message = _divergence_message(epoch, b, value, run.config.lr, run.best_state is not None)
                    diverged.append((i, message))
                    continue
                stepping.append((i, j, loss, value))
                total = loss if total is None else total + loss
            if total is not None:
                total.backward()
                for i, j, loss, value in stepping:
                    run = runs[i]
                    for name, p in run.model.named_parameters():
                        grad = self.params[name].grad
                        p.grad = (
                            None
                            if grad is None or (name in self.idle_params and not run.uses_aux)
                            else grad[j]
                        )
                    run.optimizer.step()
                    run.optimizer.zero_grad(set_to_none=True)
                    loss_sums[i] += loss.detach().double() * (z - a)
                    if value is not None:
                        run.cb.fire("on_batch", epoch, b, run.n_batches, value)
                for stack in self.params.values():
                    stack.grad = None
            del out, total
            for i, message in diverged:
                going.remove(i)
                self._finish(i, RunStatus.DIVERGED, message)
        train_seconds = time.perf_counter() - t_start
        records: dict[int, dict[str, Any]] = {}
        for i in going:
            run = runs[i]
            train_loss = float(loss_sums[i]) / n
            if not math.isfinite(train_loss):
                self._finish(
                    i,
                    RunStatus.DIVERGED,
                    _divergence_message(epoch, None, train_loss, run.config.lr, run.best_state is not None),
                )
                continue
            records[i] = {
                "epoch": epoch,
                "train_loss": train_loss,
                "train_seconds": train_seconds,
                "images_per_second": n / train_seconds if train_seconds > 0 else float("nan"),
                "lr": run.optimizer.param_groups[0]["lr"],
            }
        return records

    @staticmethod
    def _member_loss(run: _Run, out: Any, j: int, y: torch.Tensor) -> torch.Tensor:
        """Member ``j``'s loss on its slice of the packed output, as the engine computes it."""
        if isinstance(out, tuple):
            logits, aux = out[0][j], [t[j] for t in out[1]]
        else:
            logits, aux = out[j], []
        if run.uses_aux:
            return run.loss_fn(logits.float(), y, aux=[t.float() for t in aux])
        return run.loss_fn(logits.float(), y)


def _params_without_grad(model: torch.nn.Module, size: int) -> set[str]:
    """Names of the parameters that get no gradient from the main output alone (side heads)."""
    probe = copy.deepcopy(model).train()
    probe.zero_grad(set_to_none=True)
    device = next(probe.parameters()).device
    x = torch.ones(2, 3, size, size, device=device)  # the global RNG stays untouched
    probe(x).float().sum().backward()
    return {name for name, p in probe.named_parameters() if p.grad is None}
