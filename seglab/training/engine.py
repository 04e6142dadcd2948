"""The training engine: one function, ``train(config)``, that every front end calls.

What one run does, top to bottom:

1. Build the data: ``make_dataset(config.dataset, size, n, seed=<data seed>)``. The data
   seed is ``config.split_seed`` (or ``dataset_params["seed"]`` when given), so runs with
   the same data settings see exactly the same images *and* the same train/val/test split,
   whatever their model seed (``config.folds`` / ``fold`` pick a cross-validation fold of
   the train+val pool instead, see `run_splits`). The whole dataset moves to the device once;
   batches are taken by index tensors, never by a per-sample Python loop. Procedural data is
   drawn once per data settings and reused by later runs (``seglab.data.cache``).
2. Build the model (``create_model``; a 1-channel head for binary datasets), the loss
   (``get_loss``) and the optimiser (Adam, AdamW, or SGD with momentum 0.9). Borrowed
   weights (``encoder_weights``, ``init_from``) are loaded into the fresh model, and the
   encoder may be frozen for the first epochs (``freeze_encoder_epochs``). The learning
   rate follows ``config.lr_schedule`` (cosine decay to 0 by default), step by step.
3. Each epoch: shuffle with a seeded ``torch.Generator``, augment on the device, train;
   then evaluate the validation split, accumulating one confusion matrix, and keep the
   weights of the best epoch by the headline IoU (foreground IoU for binary data, mean IoU
   for multi-class data).
4. At the end, load the best weights and evaluate the test split (the final run of a tuning
   keeps its last epoch instead: `checkpoint_rule`). The last epoch's test IoU and the
   per-image test IoU of both are recorded too (`_Run._test_scores`).

Runs are deterministic on the CPU for a given thread count: the same config gives the same
metrics. ``config.num_threads`` sets torch's CPU threads for the run (restored afterwards);
None leaves the process setting alone. Denormal floats are flushed to zero (much faster on
CPUs, no visible effect on training). On CUDA the
model runs channels-last under bf16 autocast (``precision="auto"``), which is fast but not
bit-reproducible.

Callbacks are plain objects with any of these methods (all optional)::

    on_start(info: dict)
    on_batch(epoch: int, batch: int, n_batches: int, loss: float)   # 1-based epoch/batch
    on_epoch_end(epoch: int, record: dict)
    on_checkpoint(epoch: int, which: str, path: Path | None)        # "best" | "last"
    on_end(result: TrainResult)

On CUDA, ``loss.item()`` (a GPU sync) is called every batch only if some callback has
``on_batch``; otherwise the loss is checked for NaN once per epoch.

Outcomes: ``done``; ``cancelled`` (``should_stop()`` returned True; it is polled before
every batch); ``diverged`` (the loss became NaN or infinite); ``failed`` (a problem the user
can fix: a bad dataset, parameter or out-of-memory, with a hint); ``interrupted`` (Ctrl-C;
re-raised). Internal bugs are recorded as ``failed`` in the run folder and re-raised.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from seglab.data.registry import model_out_channels  # noqa: F401  (part of the engine's API)
from seglab.device import device_label, resolve_device
from seglab.errors import ConfigError, InternalError, SegLabError, disk_full_message, is_disk_full
from seglab.settings.build import build_model  # noqa: F401  (part of the engine's API)
from seglab.settings.config import TrainConfig
from seglab.status import RunStatus
from seglab.store import epoch_predictions
from seglab.training.runwriter import RunWriter, folder_writer
from seglab.training.speed import eval_batch_size
from seglab.training.threads import effective_threads

PREVIEW_IMAGES = 8  # images per split kept in predictions.npz for the visual comparison
TEST_PREVIEW_IMAGES = 32  # test images kept there too, for the per-image error analysis
MAX_PER_IMAGE_SCORES = 10_000  # per-image test IoUs stored per run, at most
EVAL_BATCH_MIN = 64  # evaluation batches are at least this large (no gradients kept)
# Config fields a resumed run may change (anything else would not continue the same run).
RESUME_MAY_CHANGE = frozenset({"epochs", "device", "precision", "num_threads"})


@dataclass
class TrainResult:
    """How a run ended, with its per-epoch history and final metrics.

    ``val_metrics`` are those of the best validation epoch; ``test_metrics`` are measured
    once, with the best weights, when the run finishes (empty otherwise). Metric dicts hold
    ``iou`` (the headline: foreground IoU for binary data, mean IoU otherwise), ``miou``,
    ``dice``, ``precision``, ``recall``, ``accuracy``, ``loss``, and per-class lists
    ``iou_per_class``, ``dice_per_class``, ``precision_per_class``, ``recall_per_class``.
    """

    status: str
    message: str = ""
    epochs_run: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int | None = None
    val_metrics: dict[str, Any] = field(default_factory=dict)
    test_metrics: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    device: str = ""
    run_dir: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == RunStatus.DONE


# ---- building blocks (also used by the store and the benchmark) -----------------------
def build_optimizer(config: TrainConfig, params: Any, device: torch.device) -> torch.optim.Optimizer:
    fused = {"fused": True} if device.type == "cuda" else {}
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay, **fused)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay, **fused)
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=0.9, weight_decay=config.weight_decay)
    raise ConfigError(f"optimizer must be adam, adamw or sgd, not {config.optimizer!r}.")


def build_loss(config: TrainConfig, num_classes: int) -> tuple[torch.nn.Module, bool]:
    """``(loss_fn, uses_aux)``; refuses a loss that cannot handle this kind of dataset."""
    from seglab.losses import get_loss, loss_info

    info = loss_info(config.loss)
    binary = num_classes == 2
    if binary and not getattr(info, "binary", True):
        raise ConfigError(f"loss {config.loss!r} is for multi-class data; this dataset is binary.")
    if not binary and not getattr(info, "multiclass", True):
        raise ConfigError(
            f"loss {config.loss!r} works only on binary (foreground/background) data; "
            f"this dataset has {num_classes} classes. Pick e.g. 'ce' or 'dice'."
        )
    return get_loss(config.loss, **config.loss_params), bool(getattr(info, "uses_aux", False))


def data_seed(config: TrainConfig) -> int:
    """The seed that generates synthetic data: ``dataset_params['seed']`` or ``split_seed``."""
    return int(config.dataset_params.get("seed", config.split_seed))


#: where a run's reported val/test scores come from (``summary["checkpoint"]``)
CHECKPOINT_BEST = "best"  # the epoch with the best validation IoU (chosen on the validation images)
CHECKPOINT_LAST = "last"  # the last epoch (nothing chosen)


def checkpoint_rule(config: TrainConfig) -> str:
    """Which epoch's weights a run keeps and tests: the last epoch for the final run of a
    cross-validation tuning (``folds`` set, ``fold`` None: it validates on its own training
    pool, so "best on validation" would mean best on training images; its epoch count was
    chosen by the CV), else the epoch with the best validation IoU."""
    if config.folds is not None and config.fold is None:
        return CHECKPOINT_LAST
    return CHECKPOINT_BEST


def load_data(config: TrainConfig, device: torch.device | None = None) -> tuple[Any, dict[str, torch.Tensor]]:
    """``(dataset, {"train": idx, "val": idx, "test": idx})`` with the dataset on ``device``."""
    from seglab.data.cache import cached_dataset  # generated once per data settings, then reused

    params = {k: v for k, v in config.dataset_params.items() if k != "seed"}
    ds = cached_dataset(config.dataset, size=config.size, n=config.n, seed=data_seed(config), **params)
    splits = run_splits(config, len(ds))
    idx = {
        name: torch.as_tensor(np.asarray(s), dtype=torch.long)
        for name, s in zip(("train", "val", "test"), splits, strict=True)
    }
    for name, ix in idx.items():
        if len(ix) == 0:
            raise ConfigError(f"the {name} split is empty: {len(ds)} samples are too few; raise n.")
    if device is not None:
        ds = ds.to(device)
        idx = {k: v.to(device) for k, v in idx.items()}
    return ds, idx


def run_splits(config: TrainConfig, n: int) -> tuple[list[int], list[int], list[int]]:
    """(train, val, test) sample indices of a run over ``n`` samples: the usual seeded split,
    or, with ``config.folds``, one cross-validation fold of the train+val pool (test unchanged)
    — see `seglab.data.folds.fold_splits`."""
    from seglab.data.folds import fold_splits

    return fold_splits(
        n,
        val=config.val_fraction,
        test=config.test_fraction,
        seed=config.split_seed,
        folds=config.folds,
        fold=config.fold,
    )


def summarize(cm: torch.Tensor) -> dict[str, Any]:
    """Headline metrics from a (K,K) confusion matrix (rows = truth, columns = prediction).

    For binary data ``iou``/``dice``/``precision``/``recall`` are the foreground class's;
    for K > 2 they are means over the classes present (``iou`` = mIoU).
    """
    from seglab.metrics.scores import scores

    s = scores(cm.cpu())
    binary = cm.shape[0] == 2

    def num(v: Any) -> float:
        return float(v)

    def lst(v: Any) -> list[float]:
        return [float(x) for x in (v.tolist() if hasattr(v, "tolist") else v)]

    def mean(v: Any) -> float:
        xs = [x for x in lst(v) if not math.isnan(x)]
        return sum(xs) / len(xs) if xs else float("nan")

    out = {
        "iou": num(s["fg_iou"]) if binary else num(s["miou"]),
        "miou": num(s["miou"]),
        "dice": num(s["fg_dice"]) if binary else num(s["mdice"]),
        "precision": num(s["fg_precision"]) if binary else mean(s["precision"]),
        "recall": num(s["fg_recall"]) if binary else mean(s["recall"]),
        "accuracy": num(s["accuracy"]),
        "iou_per_class": lst(s["iou"]),
        "dice_per_class": lst(s["dice"]),
        "precision_per_class": lst(s["precision"]),
        "recall_per_class": lst(s["recall"]),
    }
    return out


def scheduled_lr(config: TrainConfig, epoch: int, batch: int, n_batches: int) -> float:
    """Learning rate for a (1-based) epoch and batch.

    ``cosine``: lr · ½(1 + cos(π t / T)) with t the step about to run and T all steps of the
    run, so it falls smoothly from ``lr`` towards 0 and the last epochs settle the weights.
    Computed from the position alone, so a resumed run follows the same curve.
    """
    if config.lr_schedule == "constant":
        return config.lr
    t = (epoch - 1) * n_batches + (batch - 1)
    total = max(1, config.epochs * n_batches)
    return config.lr * 0.5 * (1.0 + math.cos(math.pi * min(t, total) / total))


def _autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager[Any]:
    wants_bf16 = precision == "bf16" or (precision == "auto" and device.type == "cuda")
    if wants_bf16 and device.type in ("cuda", "cpu"):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _batches(n: int, batch_size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, n, batch_size):
        yield start, min(start + batch_size, n)


@torch.inference_mode()
def evaluate(
    model: torch.nn.Module,
    images: torch.Tensor,
    masks: torch.Tensor,
    num_classes: int,
    *,
    loss_fn: torch.nn.Module | None = None,
    batch_size: int = EVAL_BATCH_MIN,
    precision: str = "auto",
    confusion: bool = False,
    uses_aux: bool = False,
) -> dict[str, Any]:
    """Metrics of ``model`` on one split (images (N,3,H,W) and masks (N,H,W) on its device);
    ``confusion=True`` adds the (K,K) pixel confusion matrix (CPU tensor) as ``"confusion"``.

    With ``uses_aux`` (a deep-supervision loss such as bce_ds) the loss is computed exactly as in
    training, from the main output *and* the auxiliary outputs, so that training and validation
    loss curves measure the same thing; the metrics always use the main output only.
    """
    from seglab.metrics.scores import confusion_matrix, predict_labels

    was_training = model.training
    model.eval()
    device = images.device
    cm = torch.zeros(num_classes, num_classes, dtype=torch.long, device=device)
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    with _autocast(device, precision):
        for a, b in _batches(len(images), batch_size):
            x = images[a:b].contiguous(memory_format=torch.channels_last)
            want_aux = uses_aux and loss_fn is not None
            out = model(x, return_aux=True) if want_aux else model(x)
            logits, aux = (out[0].float(), [t.float() for t in out[1]]) if want_aux else (out.float(), None)
            y = masks[a:b]
            cm += confusion_matrix(predict_labels(logits), y, num_classes).to(device)
            if loss_fn is not None:
                value = loss_fn(logits, y, aux=aux) if want_aux else loss_fn(logits, y)
                loss_sum += value.double() * (b - a)
    model.train(was_training)
    out = summarize(cm)
    out["loss"] = float(loss_sum) / max(1, len(images)) if loss_fn is not None else float("nan")
    if confusion:
        out["confusion"] = cm.cpu()
    return out


@torch.inference_mode()
def predict_preview(
    model: torch.nn.Module,
    images: torch.Tensor,
    masks: torch.Tensor,
    num_classes: int,
    precision: str = "auto",
) -> dict[str, np.ndarray]:
    """uint8 images (N,H,W,3), masks and predicted labels (N,H,W), per-image IoU (N,)."""
    from seglab.metrics.scores import per_image_iou, predict_labels

    was_training = model.training
    model.eval()
    with _autocast(images.device, precision):
        logits = model(images.contiguous(memory_format=torch.channels_last)).float()
    model.train(was_training)
    pred = predict_labels(logits)
    out = {
        "images": (images.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy(),
        "masks": masks.to(torch.uint8).cpu().numpy(),
        "preds": pred.to(torch.uint8).cpu().numpy(),
        "iou": np.asarray(per_image_iou(pred, masks, num_classes).cpu(), dtype=np.float32),
    }
    if logits.shape[1] == 1:
        out["probs"] = torch.sigmoid(logits[:, 0]).to(torch.float16).cpu().numpy()
    return out


@torch.inference_mode()
def foreground_counts_at_thresholds(
    model: torch.nn.Module,
    images: torch.Tensor,
    masks: torch.Tensor,
    *,
    batch_size: int,
    precision: str = "auto",
) -> torch.Tensor:
    """[TP, FP, FN] of a binary model's foreground at every threshold of
    `seglab.metrics.threshold.THRESHOLDS`, summed over ``images`` in batches."""
    from seglab.metrics.threshold import threshold_counts

    was_training = model.training
    model.eval()
    total = None
    with _autocast(images.device, precision):
        for a, b in _batches(len(images), batch_size):
            logits = model(images[a:b].contiguous(memory_format=torch.channels_last)).float()
            counts = threshold_counts(torch.sigmoid(logits[:, 0]), masks[a:b])
            total = counts if total is None else total + counts
    model.train(was_training)
    return total


def validation_threshold_metrics(
    model: torch.nn.Module,
    splits: dict[str, tuple[torch.Tensor, torch.Tensor]],
    *,
    batch_size: int,
    precision: str = "auto",
) -> dict[str, float]:
    """The probability threshold with the best validation IoU (`seglab.metrics.threshold`), that
    IoU, and the test IoU at the same threshold (when ``splits`` has a test split): the
    `THRESHOLD_METRICS` a binary run records beside its scores at p ≥ 0.5."""
    from seglab.metrics.threshold import THRESHOLDS, best_threshold, iou_from_counts

    val = foreground_counts_at_thresholds(model, *splits["val"], batch_size=batch_size, precision=precision)
    threshold, val_iou = best_threshold(THRESHOLDS, iou_from_counts(val))
    out = {"val_best_threshold": threshold, "val_iou_at_best_threshold": val_iou}
    if "test" in splits:
        x, y = splits["test"]
        test = foreground_counts_at_thresholds(model, x, y, batch_size=batch_size, precision=precision)
        out["test_iou_at_val_threshold"] = iou_from_counts(test[[THRESHOLDS.index(threshold)]])[0]
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in out.items()}


# ---- callbacks --------------------------------------------------------------------------
class _Callbacks:
    def __init__(self, callbacks: Any) -> None:
        if callbacks is None:
            self.items: list[Any] = []
        elif isinstance(callbacks, (list, tuple)):
            self.items = list(callbacks)
        else:
            self.items = [callbacks]
        self.has_on_batch = any(callable(getattr(c, "on_batch", None)) for c in self.items)

    def fire(self, name: str, *args: Any) -> None:
        for cb in self.items:
            method = getattr(cb, name, None)
            if callable(method):
                method(*args)


class _Stop(Exception):
    """Internal: leave the training loop with a status and message."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _divergence_message(epoch: int, batch: int | None, value: float, lr: float, kept: bool) -> str:
    where = f"epoch {epoch}" + (f", batch {batch}" if batch is not None else "")
    what = "not a number (NaN)" if math.isnan(value) else "infinite"
    kept_text = (
        "The weights of the best epoch so far are kept."
        if kept
        else "No epoch had finished, so there are no weights to keep."
    )
    return (
        f"Training diverged in {where}: the loss became {what}. The steps were too large, so the "
        f"weights blew up. Lower the learning rate (for example from {lr:g} to {lr / 10:g}) and "
        f"train again. {kept_text}"
    )


def _oom_message(epoch: int, config: TrainConfig, device: torch.device) -> str:
    where = "GPU" if device.type == "cuda" else "computer"
    return (
        f"The {where} ran out of memory in epoch {epoch}. Use a smaller batch size "
        f"(now {config.batch_size}), a smaller model width (now {config.width}) "
        f"or smaller images (now {config.size})."
    )


def _record_internal_error(files: RunWriter | None, exc: BaseException) -> None:
    """Mark the run failed with ``exc`` as its reason, when a bug struck while it was finishing
    (the caller re-raises). Best effort: OSError is the disk, InternalError a run that had
    already reached its final status."""
    if files is not None:
        with contextlib.suppress(OSError, InternalError):
            files.set_status(RunStatus.FAILED, f"internal error: {type(exc).__name__}: {exc}")


def _is_oom(exc: BaseException) -> bool:
    if isinstance(exc, torch.OutOfMemoryError):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)


# ---- the engine ------------------------------------------------------------------------
def train(
    config: TrainConfig,
    callbacks: Any = None,
    *,
    run_dir: str | os.PathLike[str] | None = None,
    should_stop: Callable[[], bool] | None = None,
    resume: bool = False,
    writer: RunWriter | None = None,
) -> TrainResult:
    """Train one model as ``config`` says; see the module docstring for the full story.

    ``run_dir``: a run folder (``RunStore.run_dir(id)``) to write config, history, status,
    checkpoints and predictions into. ``resume=True`` continues from its ``last.pt`` (a
    fresh start if there is none); ``config.epochs`` may be raised to train longer.
    The engine writes nothing itself: a run writer (``writer``, else
    ``seglab.training.runwriter.folder_writer(run_dir)``) records everything.
    """
    if writer is None and run_dir is not None:
        writer = folder_writer(run_dir)
    if resume and writer is None:
        raise ValueError("resume=True needs the run_dir of the run to continue")
    if resume:
        check_resumable(config, writer)
    previous_threads = torch.get_num_threads()
    threads = effective_threads(config.num_threads)  # a worker slot's cap lowers the request
    if threads is not None:
        torch.set_num_threads(max(1, threads))
    # Tiny float values (denormals) are many times slower on CPUs; treat them as zero.
    torch.set_flush_denormal(True)
    try:
        return _Run(config, _Callbacks(callbacks), writer, should_stop).execute(resume)
    finally:
        if threads is not None:
            torch.set_num_threads(previous_threads)


def check_resumable(config: TrainConfig, run: str | os.PathLike[str] | RunWriter) -> None:
    """Raise ConfigError (touching nothing) if ``config`` would not continue the saved run
    (``run``: its folder or its writer)."""
    writer = folder_writer(run) if isinstance(run, (str, os.PathLike)) else run
    path = writer.file("config.json")
    if not path.is_file():
        return
    saved = TrainConfig.from_json(path.read_text(encoding="utf-8")).to_dict()
    changed = sorted(
        k for k, v in config.to_dict().items() if k not in RESUME_MAY_CHANGE and saved.get(k) != v
    )
    if changed:
        raise ConfigError(
            f"cannot resume this run with a different {', '.join(changed)}; only "
            f"{', '.join(sorted(RESUME_MAY_CHANGE))} may change. Start a new run instead."
        )


class _Run:
    """State of one training run; ``execute`` drives it to a ``TrainResult``."""

    def __init__(
        self,
        config: TrainConfig,
        callbacks: _Callbacks,
        writer: RunWriter | None,
        should_stop: Callable[[], bool] | None,
    ) -> None:
        self.config = config
        self.cb = callbacks
        self.files = writer
        self.should_stop = should_stop
        self.history: list[dict[str, Any]] = []
        self.best_iou = -math.inf
        self.best_epoch: int | None = None
        self.best_state: dict[str, torch.Tensor] | None = None
        self.best_val: dict[str, Any] = {}
        self.epoch = 0  # the epoch in progress (1-based); 0 before training
        self.t0 = time.perf_counter()
        self.device = torch.device("cpu")
        self.device_text = ""

    # -- store helpers --
    def _summary(self, **fields: Any) -> None:
        if self.files is not None:
            self.files.update_summary(**fields)

    def _flat_metrics(self, prefix: str, metrics: dict[str, Any]) -> dict[str, Any]:
        return {f"{prefix}_{k}": v for k, v in metrics.items()}

    # -- main --
    def execute(self, resume: bool) -> TrainResult:
        config = self.config
        try:
            self._begin()
            self._setup(resume)
            self._loop()
            status, message = RunStatus.DONE, ""
        except _Stop as stop:
            status, message = stop.status, stop.message
        except SegLabError as exc:
            status, message = RunStatus.FAILED, str(exc)
        except (KeyboardInterrupt, SystemExit):
            self._finish(RunStatus.INTERRUPTED, f"interrupted during epoch {self.epoch}", fire=False)
            raise
        except BaseException as exc:
            if is_disk_full(exc):  # not a bug: the run stops resumable and says why (issue 22)
                with contextlib.suppress(OSError, InternalError):
                    self._finish(
                        RunStatus.INTERRUPTED, f"interrupted: {disk_full_message('its run')}", fire=False
                    )
                raise
            if _is_oom(exc):
                status, message = RunStatus.FAILED, _oom_message(self.epoch, config, self.device)
                self.best_state = None  # nothing more is computed after running out of memory
                if self.device.type == "cuda":
                    torch.cuda.empty_cache()
            else:
                self._finish(RunStatus.FAILED, f"internal error: {type(exc).__name__}: {exc}", fire=False)
                raise
        try:
            return self._finish(status, message)
        except BaseException as exc:  # a bug while finishing: record it, stay loud
            _record_internal_error(self.files, exc)
            raise

    def _begin(self) -> None:
        """Resolve the device and mark the run folder as running (before any data or model)."""
        config = self.config
        self.device = resolve_device(config.device)
        self.device_text = device_label(self.device)
        if self.files is not None:
            self.files.prepare(config)
            self.files.set_status(
                RunStatus.RUNNING,
                "",
                started=time.time(),
                finished=None,
                epochs=config.epochs,
                device=self.device_text,
                pid=os.getpid(),
                config=config.to_dict(),
                label=config.label(),
            )

    def _setup(self, resume: bool) -> None:
        config, device = self.config, self.device
        self.ds, idx = load_data(config, device)
        self.num_classes = int(self.ds.num_classes)
        self.splits = {
            k: (self.ds.images.index_select(0, v), self.ds.masks.index_select(0, v)) for k, v in idx.items()
        }
        self._summary(num_classes=self.num_classes, class_names=list(self.ds.class_names))
        from seglab.data.fingerprint import dataset_fingerprint  # the data by content (analysis.compare)

        self._summary(
            data_fingerprint=dataset_fingerprint(config.dataset), checkpoint=checkpoint_rule(config)
        )
        # predictions per epoch: the same few validation images for every run with these data settings
        self.watch = torch.as_tensor(epoch_predictions.pick_positions(len(idx["val"])), device=device)
        self.watch_indices = idx["val"].index_select(0, self.watch).cpu().numpy()  # dataset positions

        torch.manual_seed(config.seed)
        self.model = build_model(config, self.num_classes)
        if not (resume and self.files is not None and self.files.has_checkpoint("last")):
            self._transfer_setup()  # --encoder-weights / --init-from (seglab.models.transfer)
        self.model = self.model.to(device, memory_format=torch.channels_last)
        from seglab.training.speed import prepare_model, training_forward  # layout fixes, optional compile

        prepare_model(self.model, device)
        self.forward = training_forward(self.model, device)
        self.loss_fn, self.uses_aux = build_loss(config, self.num_classes)
        self.loss_fn = self.loss_fn.to(device)
        from seglab.losses import fit_loss_to_training_set  # focal α = "auto": once, from the training set

        fitted = fit_loss_to_training_set(self.loss_fn, self.splits["train"][1], self.num_classes)
        self._summary(resolved_loss_params=fitted)
        self.optimizer = build_optimizer(config, self.model.parameters(), device)
        self.shuffle_gen = torch.Generator().manual_seed(config.seed)
        self.aug_gen = torch.Generator(device=device).manual_seed(config.seed + 1)
        self.start_epoch = 1
        if resume:
            self._restore()
        elif self.files is not None:
            self.files.write_history([])

        n_train = len(self.splits["train"][0])
        self.n_batches = math.ceil(n_train / config.batch_size)
        info = {
            "device": self.device_text,
            "n_train": n_train,
            "n_val": len(self.splits["val"][0]),
            "n_test": len(self.splits["test"][0]),
            "n_batches": self.n_batches,
            "epochs": config.epochs,
            "start_epoch": self.start_epoch,
            "num_classes": self.num_classes,
            "class_names": list(self.ds.class_names),
            "params": sum(p.numel() for p in self.model.parameters()),
            "run_dir": self.files.location if self.files is not None else None,
        }
        self.cb.fire("on_start", info)

    def _transfer_setup(self) -> None:
        """Start from borrowed weights (before any training step): an encoder weights file in
        torchvision's layout, then a stored run's best weights. Refusals are plain WeightsErrors."""
        config = self.config
        notes: dict[str, Any] = {}
        if config.encoder_weights is not None:
            from seglab.models.transfer import load_encoder_weights

            notes["encoder_weights_loaded"] = len(load_encoder_weights(self.model, config.encoder_weights))
        if config.init_from is not None:
            from seglab.models.transfer import init_from_file
            from seglab.store.run_store import RunFiles, RunStore

            if self.files is not None:
                path = self.files.stored_weights(config.init_from)
            else:  # no writer: look in the default store
                path = RunFiles(RunStore().home / config.init_from).stored_weights(config.init_from)
            report = init_from_file(self.model, path, scope=config.init_scope)  # type: ignore[arg-type]
            notes["init_from_report"] = report.summary()
        if notes:
            self._summary(**notes)

    def _freeze_for(self, epoch: int) -> None:
        """Freeze the encoder for the first ``freeze_encoder_epochs`` epochs (-1: all of them)."""
        n = self.config.freeze_encoder_epochs
        if n != 0:
            from seglab.models.transfer import freeze_encoder

            freeze_encoder(self.model, frozen=n == -1 or epoch <= n)

    def _restore(self) -> None:
        assert self.files is not None
        if not self.files.has_checkpoint("last"):
            self.files.write_history([])
            return
        state = self.files.load_checkpoint("last", map_location="cpu")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.shuffle_gen.set_state(state["shuffle_rng"])
        self.aug_gen.set_state(state["aug_rng"])
        torch.set_rng_state(state["torch_rng"])
        self.history = list(state["history"])
        self.best_iou = float(state["best_iou"])
        self.best_epoch = state["best_epoch"]
        self.best_val = dict(state["best_val"])
        self.start_epoch = int(state["epoch"]) + 1
        if self.files.has_checkpoint("best"):
            best = self.files.load_checkpoint("best", map_location=self.device)
            self.best_state = {k: v.to(self.device) for k, v in best.items()}
        self.files.write_history(self.history)  # drop any line written after last.pt

    def _loop(self) -> None:
        for epoch in range(self.start_epoch, self.config.epochs + 1):
            self.epoch = epoch
            record = self._train_epoch(epoch)
            self._end_epoch(epoch, record)

    def _train_epoch(self, epoch: int) -> dict[str, Any]:
        config, device, model = self.config, self.device, self.model
        if config.augment:
            from seglab.data import augment_batch
        train_x, train_y = self.splits["train"]
        n = len(train_x)
        sync_each_batch = device.type != "cuda" or self.cb.has_on_batch
        model.train()
        self._freeze_for(epoch)
        t_start = time.perf_counter()
        perm = torch.randperm(n, generator=self.shuffle_gen).to(device)
        loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        for b, (a, z) in enumerate(_batches(n, config.batch_size), start=1):
            if self.should_stop is not None and self.should_stop():
                raise _Stop(
                    RunStatus.CANCELLED, f"cancelled during epoch {epoch} (batch {b} of {self.n_batches})."
                )
            ix = perm[a:z]
            x, y = train_x.index_select(0, ix), train_y.index_select(0, ix)
            if config.augment:
                x, y = augment_batch(x, y, generator=self.aug_gen)
            x = x.contiguous(memory_format=torch.channels_last)
            lr = scheduled_lr(config, epoch, b, self.n_batches)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            with _autocast(device, config.precision):
                out = self.forward(x, return_aux=True) if self.uses_aux else self.forward(x)
            if self.uses_aux:
                logits, aux = out
                loss = self.loss_fn(logits.float(), y, aux=[t.float() for t in aux])
            else:
                loss = self.loss_fn(out.float(), y)
            if sync_each_batch:
                value = loss.item()
                if not math.isfinite(value):
                    raise _Stop(
                        RunStatus.DIVERGED,
                        _divergence_message(epoch, b, value, config.lr, self.best_state is not None),
                    )
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            loss_sum += loss.detach().double() * (z - a)
            if sync_each_batch:
                self.cb.fire("on_batch", epoch, b, self.n_batches, value)
        train_loss = float(loss_sum) / n  # also syncs the GPU, so the timing below is honest
        train_seconds = time.perf_counter() - t_start
        if not math.isfinite(train_loss):
            raise _Stop(
                RunStatus.DIVERGED,
                _divergence_message(epoch, None, train_loss, config.lr, self.best_state is not None),
            )
        return {
            "epoch": epoch,
            "train_loss": train_loss,
            "train_seconds": train_seconds,
            "images_per_second": n / train_seconds if train_seconds > 0 else float("nan"),
            "lr": self.optimizer.param_groups[0]["lr"],
        }

    def _end_epoch(self, epoch: int, record: dict[str, Any]) -> None:
        t_eval = time.perf_counter()
        val = self._evaluate("val")
        record["val_loss"] = val.pop("loss")
        record.update(self._flat_metrics("val", val))
        record["eval_seconds"] = time.perf_counter() - t_eval
        record["seconds"] = record["train_seconds"] + record["eval_seconds"]
        record["elapsed"] = time.perf_counter() - self.t0
        self.history.append(record)

        iou = val["iou"]
        improved = (not math.isnan(iou) and iou > self.best_iou) or checkpoint_rule(
            self.config
        ) == CHECKPOINT_LAST
        if improved or self.best_state is None:
            self.best_iou = iou if not math.isnan(iou) else self.best_iou
            self.best_epoch = epoch
            self.best_val = {"loss": record["val_loss"], **val}
            self.best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        if self.files is not None:
            self.files.append_history(record)
            if hasattr(self.files, "save_epoch_predictions"):  # see seglab.store.epoch_predictions
                x, y = (t.index_select(0, self.watch) for t in self.splits["val"])
                preview = predict_preview(self.model, x, y, self.num_classes, self.config.precision)
                self.files.save_epoch_predictions(epoch, preview, self.watch_indices, self.num_classes)
            if self.best_epoch == epoch:
                path = self.files.save_checkpoint("best", self.best_state)
                self.cb.fire("on_checkpoint", epoch, "best", path)
            path = self.files.save_checkpoint("last", self._last_state(epoch))
            self.cb.fire("on_checkpoint", epoch, "last", path)
            self._summary(
                epochs_done=epoch,
                best_epoch=self.best_epoch,
                metrics={
                    **self._flat_metrics("val", self.best_val),
                    "last_val_iou": iou,
                    "train_loss": record["train_loss"],
                },
            )
        self.cb.fire("on_epoch_end", epoch, record)

    def _evaluate(self, split: str, confusion: bool = False) -> dict[str, Any]:
        """Loss and metrics of the current model on the ``"val"`` or ``"test"`` split."""
        x, y = self.splits[split]
        return evaluate(
            self.model,
            x,
            y,
            self.num_classes,
            loss_fn=self.loss_fn,
            batch_size=max(eval_batch_size(self.config.batch_size, self.device), EVAL_BATCH_MIN),
            precision=self.config.precision,
            confusion=confusion,
            uses_aux=self.uses_aux,
        )

    def _test_scores(self, which: str) -> dict[str, Any]:
        """Per-image test IoU of the model's current weights (one float per test image, NaN
        where an image has no foreground and none is predicted), for paired statistics over
        images and seeds (`seglab.analysis.stats`). ``which="last"`` (the last epoch's weights)
        also gives the last epoch's pooled test IoU, so a study can be compared at the last epoch.
        Keys: ``test_iou_per_image``, or ``last_test_iou`` and ``last_test_iou_per_image``."""
        from seglab.metrics.scores import per_image_iou, predict_labels

        x, y = self.splits["test"]
        batch = max(eval_batch_size(self.config.batch_size, self.device), EVAL_BATCH_MIN)
        was_training = self.model.training
        self.model.eval()
        parts = []
        with torch.inference_mode(), _autocast(self.device, self.config.precision):
            for a, b in _batches(len(x), batch):
                logits = self.model(x[a:b].contiguous(memory_format=torch.channels_last)).float()
                parts.append(per_image_iou(predict_labels(logits), y[a:b], self.num_classes).cpu())
        self.model.train(was_training)
        values = [None if math.isnan(v) else round(float(v), 6) for v in torch.cat(parts).tolist()]
        if len(values) > MAX_PER_IMAGE_SCORES:  # keep the run summary small (seglab.store.checks)
            values = []
        if which != "last":
            return {"test_iou_per_image": values}
        last = self._evaluate("test")
        return {"last_test_iou": last["iou"], "last_test_iou_per_image": values}

    def _threshold_metrics(self, status: str, cv_fold: bool) -> dict[str, Any]:
        """A finished binary run: the threshold chosen on validation and the scores at it."""
        if status != RunStatus.DONE or self.best_state is None or getattr(self, "num_classes", 0) != 2:
            return {}
        self.model.load_state_dict(self.best_state)
        splits = {k: v for k, v in self.splits.items() if k != "test" or not cv_fold}
        return validation_threshold_metrics(
            self.model,
            splits,
            batch_size=max(eval_batch_size(self.config.batch_size, self.device), EVAL_BATCH_MIN),
            precision=self.config.precision,
        )

    def _last_state(self, epoch: int) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "epoch": epoch,
            "history": self.history,
            "best_iou": self.best_iou,
            "best_epoch": self.best_epoch,
            "best_val": self.best_val,
            "shuffle_rng": self.shuffle_gen.get_state(),
            "aug_rng": self.aug_gen.get_state(),
            "torch_rng": torch.get_rng_state(),
            "config": self.config.to_dict(),
        }

    def _finish(self, status: str, message: str, *, fire: bool = True) -> TrainResult:
        test: dict[str, Any] = {}
        extra: dict[str, Any] = {}  # per-image and last-epoch test scores (`_test_scores`)
        test_cm = None
        cv_fold = self.config.fold is not None  # a cross-validation fold never looks at the test split
        if status == RunStatus.DONE and self.best_state is not None and not cv_fold:
            last_scores = self._test_scores("last")  # the model still holds the last epoch's weights
            self.model.load_state_dict(self.best_state)
            test = self._evaluate("test", confusion=True)
            test_cm = test.pop("confusion")
            extra = {**self._test_scores("kept"), **last_scores}
        thresholds = self._threshold_metrics(status, cv_fold)
        if (
            self.files is not None
            and self.best_state is not None
            and status in (RunStatus.DONE, RunStatus.DIVERGED, RunStatus.CANCELLED)
        ):
            self.model.load_state_dict(self.best_state)
            arrays: dict[str, np.ndarray] = {"class_names": np.asarray(list(self.ds.class_names), dtype=str)}
            if test_cm is not None:  # for the per-class report (seglab.metrics.per_class)
                arrays["test_confusion"] = test_cm.numpy()
            for split in ("val",) if cv_fold else ("val", "test"):
                x, y = self.splits[split]
                k = min(PREVIEW_IMAGES if split == "val" else TEST_PREVIEW_IMAGES, len(x))
                for key, arr in predict_preview(
                    self.model, x[:k], y[:k], self.num_classes, self.config.precision
                ).items():
                    arrays[f"{split}_{key}"] = arr
            self.files.save_predictions(arrays)
        result = TrainResult(
            status=status,
            message=message,
            epochs_run=len(self.history),
            history=list(self.history),
            best_epoch=self.best_epoch,
            val_metrics=dict(self.best_val),
            test_metrics=test,
            seconds=time.perf_counter() - self.t0,
            device=self.device_text,
            run_dir=self.files.location if self.files is not None else None,
        )
        if self.files is not None:
            with contextlib.suppress(OSError) if not fire else contextlib.nullcontext():
                self.files.set_status(
                    status,
                    message,
                    finished=time.time(),
                    epochs_done=len(self.history),
                    best_epoch=self.best_epoch,
                    seconds=result.seconds,
                    metrics={
                        **self._flat_metrics("val", self.best_val),
                        **self._flat_metrics("test", test),
                        **extra,
                        **thresholds,
                    },
                )
        if fire:
            self.cb.fire("on_end", result)
        return result
