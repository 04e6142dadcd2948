"""``python -m seglab <command>``: train, run studies, manage the queue and the store, report.

Every command has ``--help``. Mistakes a user can make (bad arguments, a missing file, an
unknown name) end with a non-zero exit status and one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

from seglab.analysis.tune import FINAL_RUN_NOTE
from seglab.errors import ConfigError, SegLabError
from seglab.paths import seglab_home
from seglab.settings.config import TrainConfig
from seglab.settings.schema import DEFAULT_TUNE_FOLDS
from seglab.settings.schema import check_value as setting_check
from seglab.settings.schema import setting as _schema_setting
from seglab.settings.study import Study, parse_seeds
from seglab.status import RunStatus
from seglab.units import format_duration

EXIT_USER_ERROR = 1
EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (plus a pointer to --help), exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


# ---- parsing helpers ------------------------------------------------------------------------


def _parse_value(text: str) -> Any:
    """'0.25' → 0.25, '2' → 2, 'true' → True, 'auto' → 'auto', '[1,2]' → [1, 2]."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _key_values(items: list[str] | None, option: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{option} expects KEY=VALUE, got {item!r}.")
        out[key.strip()] = _parse_value(value.strip())
    return out


def _csv(text: str | None) -> list[str]:
    return [p.strip() for p in (text or "").split(",") if p.strip()]


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number ≥ 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def _add_home(p: argparse.ArgumentParser) -> None:
    p.add_argument("--home", metavar="DIR", help="experiment folder (default: $SEGLAB_HOME or ./runs)")


def _names(kind: str) -> str:
    """The registered names of ``kind`` (models, losses, datasets) for help texts."""
    if kind == "models":
        from seglab.models import list_models as names
    elif kind == "losses":
        from seglab.losses import list_losses as names
    else:
        from seglab.data import list_datasets as names
    return ", ".join(names())


def _model_options() -> str:
    """'fpn: merge, inverted_residual; unetpp: prune_level' from the model registry."""
    from seglab.models import list_models, model_info

    parts = [
        f"{name}: {', '.join(p.name for p in model_info(name).params)}"
        for name in list_models()
        if model_info(name).params
    ]
    return "; ".join(parts) or "no architecture has options"


def _setting_type(setting: Any) -> Any:
    """The argparse ``type`` of a schema setting: converts the text and applies its hard bounds."""

    def convert(text: str) -> Any:
        try:
            value = setting.type(text)
        except ValueError:
            kind = "a whole number" if setting.type is int else "a number"
            raise argparse.ArgumentTypeError(f"expected {kind}, got {text!r}") from None
        try:
            setting_check(setting, value)
        except ConfigError as exc:
            raise argparse.ArgumentTypeError(str(exc).rstrip(".")) from None
        return value

    convert.__name__ = setting.type.__name__  # argparse names the type in its messages
    return convert


def _setting_help(setting: Any) -> str:
    """The option's help, from the declaration: meaning, unit, default, range, when it applies
    (the facts follow a dash, not brackets: a declaration's own text may hold brackets)."""
    text = setting.help
    if setting.names_of:
        text += f" ({_names(setting.names_of)})"
    if setting.name == "model_params":
        text += f"; {_model_options()}"
    facts = []
    if setting.type is not dict and setting.type is not bool:
        facts.append(f"default {setting.default_text()}")
        if setting.bounds_text() and not setting.choices:
            facts.append(setting.bounds_text() + (f" {setting.unit}" if setting.unit else ""))
    elif setting.type is bool:
        facts.append(f"default {setting.default_text()}")
    if setting.applies:
        facts.append(f"for {setting.applies}")
    if facts:
        text += f" — {'; '.join(facts)}"
    return text.replace("%", "%%")


def _add_setting_option(group: Any, setting: Any) -> None:
    """One CLI option generated from one schema declaration (its value lands in ``args.<name>``)."""
    kwargs: dict[str, Any] = {"dest": setting.name, "default": None, "help": _setting_help(setting)}
    if setting.type is dict:
        kwargs |= {"action": "append", "metavar": "KEY=VALUE"}
    elif setting.type is bool:
        kwargs["action"] = argparse.BooleanOptionalAction
    elif setting.choices:
        kwargs["choices"] = setting.choices
    else:
        kwargs["type"] = _setting_type(setting)
        if setting.names_of or setting.type is str:
            kwargs["metavar"] = "NAME|PATH" if setting.names_of == "datasets" else setting.name.upper()
    if setting.flag_const is not None:
        kwargs |= {"nargs": "?", "const": setting.flag_const, "metavar": setting.unit.upper() or "N"}
    group.add_argument(setting.cli_flag, **kwargs)


def _add_config_options(p: argparse.ArgumentParser) -> None:
    """The run settings as options, generated from `seglab.settings.schema` (one per declaration)."""
    from seglab.settings.schema import GROUPS, settings_in

    start = p.add_argument_group("starting point (the options below override it)")
    src = start.add_mutually_exclusive_group()
    src.add_argument("--preset", metavar="NAME", help="start from a preset (quick, study, smoke)")
    src.add_argument("--config", metavar="FILE.json", help="start from a saved TrainConfig JSON file")
    for name in GROUPS:
        declared = [s for s in settings_in(name) if s.cli_flag]
        if not declared and name != "transfer":
            continue
        title = (
            "transfer learning (no downloads: weights come from your files or your runs)"
            if name == "transfer"
            else f"{name} settings"
        )
        g = p.add_argument_group(title)
        for setting in declared:
            _add_setting_option(g, setting)
        if name == "transfer":
            g.add_argument(
                "--encoder",
                choices=("small", "vgg16", "mobilenet_v2"),
                help="encoder of fcn (small | vgg16) or fpn (small | mobilenet_v2); "
                "same as --model-param encoder=…",
            )


# ---- transfer learning (issue 16): --encoder is a shortcut for --model-param encoder=…


def _transfer_overrides(args: argparse.Namespace, base: dict[str, Any]) -> dict[str, Any]:
    """The TrainConfig fields the transfer flags set (``--encoder`` goes into model_params)."""
    out: dict[str, Any] = {}
    if getattr(args, "encoder", None) and not getattr(args, "archs", None):  # a study spreads it
        out["model_params"] = {**base.get("model_params", {}), "encoder": args.encoder}
    return out


def check_init_from(config: TrainConfig, home: str | None) -> None:
    """Refuse ``--init-from`` naming a run the store does not hold, or an ``--encoder-weights``
    file that does not exist, before anything runs."""
    if config.encoder_weights is not None and not Path(config.encoder_weights).is_file():
        raise ConfigError(f"the encoder weights file {config.encoder_weights!r} does not exist.")
    if config.init_from is None:
        return
    from seglab.store.run_store import RunStore

    store = RunStore(home)
    if not store.exists(config.init_from):
        raise ConfigError(f"there is no stored run {config.init_from!r} to start from (in {store.home}).")
    if not store.checkpoint_path(config.init_from, "best").is_file():
        raise ConfigError(f"run {config.init_from!r} has no saved weights to start from yet.")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The TrainConfig the flags describe: preset or config file, then each given flag."""
    base: dict[str, Any] = {}
    if args.preset:
        from seglab.settings.presets import preset

        base = preset(args.preset).to_dict()
    elif args.config:
        from seglab.data.text_files import TextFileError, read_text_file

        path = Path(args.config)
        try:  # any editor's encoding: a UTF-8 or UTF-16 byte-order mark (Windows Notepad) is fine
            text = read_text_file(path, str(path), what="a settings file")
        except TextFileError as exc:
            raise ConfigError(f"config file {exc}") from None
        base = TrainConfig.from_json(text).to_dict()
    overrides = _setting_overrides(args, base)
    if args.model_params and not getattr(args, "archs", None) and "model_params" in overrides:
        base = {**base, "model_params": overrides["model_params"]}
    overrides.update(_transfer_overrides(args, base))
    config = TrainConfig.from_dict({**base, **overrides})
    check_names(config)
    check_init_from(config, getattr(args, "home", None))
    return config.with_absolute_paths()  # queued jobs run in another directory


def _setting_overrides(args: argparse.Namespace, base: dict[str, Any]) -> dict[str, Any]:
    """The settings the command line gives (schema-generated options), merged over ``base``'s
    registry parameters; ``--model-param`` of a study is spread per architecture instead."""
    from seglab.settings.schema import SETTINGS

    overrides: dict[str, Any] = {}
    for name, setting in SETTINGS.items():
        value = getattr(args, name, None)
        if value is None or not setting.cli_flag:
            continue
        if setting.type is dict:
            if name == "model_params" and getattr(args, "archs", None):
                continue  # a study spreads them per architecture (study_from_args)
            if name == "loss_params" and getattr(args, "losses", None):
                continue  # a study gives them to the losses of --losses (study_from_args)
            overrides[name] = {**base.get(name, {}), **_key_values(value, setting.cli_flag)}
        else:
            overrides[name] = value
    return overrides


def check_names(config: TrainConfig) -> None:
    """Refuse unknown architecture / loss / dataset names before anything is queued."""
    from seglab.errors import UnknownNameError

    try:
        from seglab.models import list_models

        if config.arch not in list_models():
            raise UnknownNameError(
                f"unknown architecture {config.arch!r}; choose from {', '.join(list_models())}."
            )
    except ImportError:
        pass
    try:
        from seglab.losses import list_losses

        if config.loss not in list_losses():
            raise UnknownNameError(f"unknown loss {config.loss!r}; choose from {', '.join(list_losses())}.")
    except ImportError:
        pass
    try:
        from seglab.data import list_datasets

        names = list_datasets()
        if config.dataset not in names and not Path(config.dataset).exists():
            raise UnknownNameError(
                f"dataset {config.dataset!r} is neither a built-in dataset ({', '.join(names)}) "
                "nor an existing folder or .zip file."
            )
    except ImportError:
        pass


# ---- text output --------------------------------------------------------------------------------


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def print_table(rows: list[list[Any]], headers: list[str], file: Any = None) -> None:
    """A plain fixed-width text table."""
    file = file or sys.stdout
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for n, row in enumerate(cells):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip(), file=file)
        if n == 0:
            print("  ".join("-" * w for w in widths), file=file)


class TextProgress:
    """Engine callbacks drawing a one-line progress bar on stderr (a line per epoch when not a TTY)."""

    def __init__(self, prefix: str = "", stream: Any = None) -> None:
        self.prefix = f"{prefix} " if prefix else ""
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.epochs = 0
        self._last = 0.0
        self._t0 = time.monotonic()
        self._done0: int | None = None

    def on_start(self, info: dict[str, Any]) -> None:
        self.epochs = int(info.get("epochs") or 0)
        start = int(info.get("start_epoch") or 1)
        resumed = f", resuming at epoch {start}" if start > 1 else ""
        self._write_line(
            f"{self.prefix}training on {info.get('device', '?')}: {info.get('n_train', '?')} train / "
            f"{info.get('n_val', '?')} val / {info.get('n_test', '?')} test images, "
            f"{info.get('params', '?')} parameters{resumed}"
        )

    def on_batch(self, epoch: int, batch: int, n_batches: int, loss: float) -> None:
        if not self.tty:
            return
        now = time.monotonic()
        if now - self._last < 0.1 and batch != n_batches:
            return
        self._last = now
        done = (epoch - 1) * n_batches + batch
        if self._done0 is None:
            self._done0, self._t0 = done, now
        rate = (done - self._done0) / max(now - self._t0, 1e-9)
        eta = (self.epochs * n_batches - done) / rate if rate > 0 else None
        width = 24
        filled = int(width * batch / max(n_batches, 1))
        bar = "#" * filled + "." * (width - filled)
        text = (
            f"\r{self.prefix}epoch {epoch}/{self.epochs} [{bar}] {batch}/{n_batches} "
            f"loss {_fmt(loss)} ETA {format_duration(eta, unknown='-')}"
        )
        self.stream.write(text.ljust(90))
        self.stream.flush()

    def on_epoch_end(self, epoch: int, record: dict[str, Any]) -> None:
        self._write_line(
            f"{self.prefix}epoch {epoch}/{self.epochs}: train loss {_fmt(record.get('train_loss'))}, "
            f"val loss {_fmt(record.get('val_loss'))}, val IoU {_fmt(record.get('val_iou'))} "
            f"({_fmt(record.get('seconds'), 1)} s)"
        )

    def _write_line(self, text: str) -> None:
        if self.tty:
            self.stream.write("\r" + " " * 90 + "\r")
        self.stream.write(text + "\n")
        self.stream.flush()


# ---- commands ---------------------------------------------------------------------------------


def cmd_train(args: argparse.Namespace) -> int:
    from seglab.training.run import run_config

    config = config_from_args(args)
    outcome = run_config(
        config,
        TextProgress(),
        home=args.home,
        on_run_created=lambda run_id: print(f"run {run_id}: {config.label()}", file=sys.stderr),
    )
    result = outcome.result
    val = getattr(result, "val_metrics", {}) or {}
    test = getattr(result, "test_metrics", {}) or {}
    print(f"run:        {outcome.run_id}")
    print(f"status:     {outcome.status}" + (f" — {outcome.message}" if outcome.message else ""))
    if result is not None:
        print(
            f"epochs:     {result.epochs_run} (best epoch {_fmt(result.best_epoch)}), {result.seconds:.1f} s on {result.device}"
        )
        print(f"val IoU:    {_fmt(val.get('iou'))}   val Dice:  {_fmt(val.get('dice'))}")
        print(f"test IoU:   {_fmt(test.get('iou'))}   test Dice: {_fmt(test.get('dice'))}")
    return 0 if outcome.status == RunStatus.DONE else EXIT_USER_ERROR


def study_from_args(args: argparse.Namespace, base: TrainConfig) -> Study:
    """The `Study` the ``study`` command's flags describe (seeds use `parse_seeds`: 0-4, 0,1,2;
    ``--grid`` uses `seglab.analysis.tune.parse_grid`, the same reader as ``tune``)."""
    from seglab.analysis.tune import parse_grid

    axes: dict[str, list[Any]] = {}
    if args.archs:
        axes["arch"] = _csv(args.archs)
    if args.losses:
        axes["loss"] = _csv(args.losses)
    seeds = parse_seeds(args.seeds) if args.seeds else []
    if not seeds and getattr(args, "preset", None):  # a preset's study repeats each model (3 seeds)
        from seglab.settings.presets import preset_seeds

        if len(found := preset_seeds(args.preset)) > 1:
            seeds = found
    axes |= parse_grid(args.grid or [])
    if not axes and not seeds:
        raise ConfigError("a study needs something to vary: give --archs, --losses, --seeds or --grid.")
    # --loss-param goes to every loss of --losses that has that parameter, each --model-param
    # (and --encoder) to every architecture of --archs that has that option; one that none of
    # them has is an error
    loss_params: dict[str, dict[str, Any]] = {}
    if args.loss_params and axes.get("loss"):
        from seglab.losses import loss_info

        wanted = _key_values(args.loss_params, "--loss-param")
        loss_params = _spread(wanted, axes["loss"], lambda n: loss_info(n).params, "--losses", "parameter")
    elif base.loss_params:
        loss_params = {loss: dict(base.loss_params) for loss in axes.get("loss", [])}
    model_params: dict[str, dict[str, Any]] = {}
    wanted = _key_values(args.model_params, "--model-param") if args.model_params else {}
    if getattr(args, "encoder", None):
        wanted["encoder"] = args.encoder
    if wanted and axes.get("arch"):
        from seglab.models import model_info

        model_params = _spread(wanted, axes["arch"], lambda n: model_info(n).params, "--archs", "option")
    return Study(
        base,
        axes,
        loss_params=loss_params,
        seeds=seeds,
        name=args.name,
        model_params=model_params,
        data_per_seed=bool(getattr(args, "data_per_seed", False)),
    )


def _spread(
    wanted: dict[str, Any], names: list[str], specs_of: Any, option: str, what: str
) -> dict[str, dict[str, Any]]:
    """{name: the wanted values among its declared ones} for each of ``names``; a wanted key that
    no name declares is refused in plain words."""
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        try:
            declared = {p.name for p in specs_of(name)}
        except SegLabError:
            continue  # an unknown name is reported by check_names
        if mine := {k: v for k, v in wanted.items() if k in declared}:
            out[name] = mine
    unused = sorted(set(wanted) - {k for params in out.values() for k in params})
    if unused:
        noun = "architecture" if option == "--archs" else "loss"
        raise ConfigError(
            f"no {noun} of {option} has the {what} {', '.join(map(repr, unused))}; "
            "see 'python -m seglab train --help'."
        )
    return out


# ---- slots and executors (issue 10: studies at GPU speed) ----------------------------------------
def _add_slot_options(p: argparse.ArgumentParser, study: bool = False) -> None:
    p.add_argument(
        "--slots",
        type=_positive_int,
        help="jobs side by side per device (study: 2 on CPU, 8 per GPU, at most one per core; worker: 1)",
    )
    p.add_argument(
        "--slot-threads" if study else "--threads",
        dest="slot_threads",
        type=_positive_int,
        help="CPU threads per job (default: cores // slots)",
    )
    if study:
        p.add_argument(
            "--executor",
            choices=("local", "ray"),
            default="local",
            help="local: the job queue and its workers (default); ray: one Ray task per run",
        )
        p.add_argument(
            "--ray-address", metavar="ADDR", help="Ray cluster to use (default: start a local one)"
        )
        p.add_argument(
            "--gpus-per-run", type=_positive_float, help="Ray: fraction of a GPU per run (default 1/8)"
        )


def _run_study_jobs(args: argparse.Namespace, group: str, progress: Any) -> None:
    """Run a queued study here: one slot in this process (with a progress bar), or several slot
    processes while this one prints the study's progress."""
    from seglab.jobs import run_worker
    from seglab.jobs.worker import _device_type, default_slot_count

    device = getattr(args, "device", None) or "auto"
    slots = args.slots or default_slot_count(_device_type(device))
    if slots <= 1:
        run_worker(
            args.home,
            once=True,
            group=group,
            job_callbacks=progress,
            verbose=False,
            device=device,
            slots=1,
            threads=args.slot_threads,
        )
        return
    last = [""]

    def monitor() -> None:
        from seglab.jobs import JobQueue

        with JobQueue(args.home) as q:
            counts = q.group(group).counts
        text = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        if text != last[0]:
            print(f"study {group}: {text}", file=sys.stderr)
            last[0] = text

    run_worker(
        args.home,
        once=True,
        group=group,
        device=device,
        slots=slots,
        threads=args.slot_threads,
        monitor=monitor,
    )


def cmd_study(args: argparse.Namespace) -> int:
    from seglab.jobs import JobQueue, ensure_worker
    from seglab.jobs.worker import WorkerBusyError

    base = config_from_args(args)
    study = study_from_args(args, base)
    for key in ("arch", "loss"):
        for value in study.axes.get(key, []):
            check_names(base.replace(**{key: value, "model_params": {}, "loss_params": {}}))
    if args.executor == "ray":
        from seglab.jobs.ray_executor import run_study_on_ray

        run_study_on_ray(
            study,
            home=args.home,
            address=args.ray_address,
            gpus_per_run=args.gpus_per_run,
            threads=args.slot_threads,
        )
        return 0
    with JobQueue(args.home) as q:
        group = q.enqueue_study(study)
        total = len(q.jobs(group=group))
    print(f"study {group}: {total} job(s) queued", file=sys.stderr)
    if args.background:
        started = ensure_worker(args.home)
        print(group)
        print(
            "a background worker was started" if started else "the running worker will take the jobs",
            file=sys.stderr,
        )
        return 0

    def progress(job_id: int, config: TrainConfig) -> TextProgress:
        return TextProgress(prefix=f"[job {job_id} · {config.label()}]")

    try:
        _run_study_jobs(args, group, progress)
    except WorkerBusyError:
        print(
            "a background worker is running; it will run the study — following its progress", file=sys.stderr
        )
        _follow_group(args.home, group)
    _print_group(args.home, group)
    print(group)
    return 0


# ---- tune: k-fold cross-validation, then the best configuration once on test (issue 16) ----------


def _run_group(home: str | None, group: str) -> None:
    """Run a queued group here (like ``study``), or follow a background worker running it."""
    from seglab.jobs import run_worker
    from seglab.jobs.worker import WorkerBusyError

    def progress(job_id: int, config: TrainConfig) -> TextProgress:
        fold = f" · fold {config.fold}" if config.fold is not None else ""
        return TextProgress(prefix=f"[job {job_id} · {config.label()}{fold}]")

    try:
        run_worker(home, once=True, group=group, job_callbacks=progress, verbose=False)
    except WorkerBusyError:
        print(
            "a background worker is running; it will run the jobs — following its progress", file=sys.stderr
        )
        _follow_group(home, group)


def cmd_tune(args: argparse.Namespace) -> int:
    from seglab.analysis.tune import (
        best_row,
        cv_rows,
        cv_study,
        enqueue_final,
        job_results,
        parse_grid,
        tuned_keys,
    )
    from seglab.jobs import JobQueue

    base = config_from_args(args)
    study = cv_study(
        base,
        parse_grid(args.grid or []),
        args.folds,
        seeds=parse_seeds(args.seeds) if args.seeds else None,
        name=args.name,
    )
    with JobQueue(args.home) as q:
        cv_group = q.enqueue_study(study)
    print(f"tune {cv_group}: {study.n_runs} cross-validation run(s) queued", file=sys.stderr)
    _run_group(args.home, cv_group)
    with JobQueue(args.home) as q:
        rows = cv_rows(job_results(q.jobs(group=cv_group), q.home), tuned_keys(study))
        best = best_row(rows)
        final = enqueue_final(q, cv_group) if best is not None else None
    print_table(
        [
            [
                ", ".join(f"{k}={v}" for k, v in r.params.items()),
                f"{len(r.fold_curves)}/{r.folds}",
                r.epoch,
                r.mean,
                r.std,
            ]
            for r in rows
        ],
        ["configuration", "folds", "epochs chosen", "CV IoU mean", "CV IoU std"],
        file=sys.stderr,
    )
    if best is None or final is None:
        raise SegLabError(f"no configuration finished all its folds (see 'seglab jobs --group {cv_group}').")
    final_group, final_cfg = final
    print(
        f"best by CV mean: {best.params} at {best.epoch} epoch(s); retraining on the whole pool for "
        f"{final_cfg.epochs} epoch(s), keeping the last (study {final_group})",
        file=sys.stderr,
    )
    _run_group(args.home, final_group)
    with JobQueue(args.home) as q:
        job = q.jobs(group=final_group)[0]
    test_iou = (job.result or {}).get("test_iou") if job.status == RunStatus.DONE else None
    if args.json:
        out = {
            "configs": [r.to_dict() for r in rows],
            "best": {
                "params": dict(best.params),
                "epochs": final_cfg.epochs,
                "test_iou": test_iou,
                "run_id": job.run_id,
            },
        }
        print(json.dumps(out, indent=2))
    else:
        print(f"best: {best.params}  CV IoU {_fmt(best.mean)} ± {_fmt(best.std)}")
        print(f"final run {job.run_id}: {job.status}, test IoU {_fmt(test_iou)}")
    return 0 if job.status == RunStatus.DONE else EXIT_USER_ERROR


def _follow_group(home: str | None, group: str) -> None:
    from seglab.jobs import JobQueue

    last = ""
    with JobQueue(home) as q:
        while True:
            summary = q.group(group)
            text = ", ".join(f"{n} {s}" for s, n in summary.counts.items() if n)
            if text != last:
                print(f"study {group}: {text}", file=sys.stderr)
                last = text
            if summary.finished:
                return
            time.sleep(1.0)


def _print_group(home: str | None, group: str) -> None:
    from seglab.jobs import JobQueue

    with JobQueue(home) as q:
        jobs = q.jobs(group=group)
        study = q.group_study(group)
    rows = [
        [
            j.id,
            j.config.arch,
            j.config.loss,
            j.config.seed,
            j.status,
            j.result.get("val_iou"),
            j.result.get("test_iou"),
        ]
        for j in jobs
    ]
    print_table(rows, ["job", "arch", "loss", "seed", "status", "val IoU", "test IoU"], file=sys.stderr)
    # the best is chosen on validation (mean over seeds); its test IoU is reported beside it
    from seglab.analysis.compare import build_comparisons
    from seglab.analysis.results_table import runs_frame
    from seglab.store.run_store import RunStore

    runs = runs_frame([r for r in RunStore(home).list_runs() if r.group == group])
    comparisons = build_comparisons(runs, {group: study} if study is not None else None)
    if comparisons and comparisons[0].best is not None:
        print(comparisons[0].best_sentence(), file=sys.stderr)


def cmd_worker(args: argparse.Namespace) -> int:
    from seglab.jobs import run_worker

    n = run_worker(
        args.home,
        once=args.once,
        poll=args.poll,
        device=args.device,
        max_jobs=args.max_jobs,
        idle_timeout=args.idle_timeout,
        cpu_workers=args.cpu_workers,
        slot=args.slot,
        slots=args.slots,
        threads=args.slot_threads,
        group=args.group,
    )
    print(f"worker ran {n} job(s)", file=sys.stderr)
    return 0


def run_to_dict(record: Any) -> dict[str, Any]:
    """A stored run as plain JSON: id, status, config (dict), metrics (val_iou, test_iou, …), …"""
    metrics = {"val_iou": None, "test_iou": None}
    for key, value in (record.metrics or {}).items():
        metrics[key] = None if isinstance(value, float) and not math.isfinite(value) else value
    return {
        "id": record.id,
        "status": record.status,
        "label": record.config.label(),
        "config": record.config.to_dict(),
        "metrics": metrics,
        "epochs_done": record.epochs_done,
        "best_epoch": getattr(record, "best_epoch", None),
        "group": record.group,
        "owner": record.owner or None,
        "message": record.message,
        "created": getattr(record, "created", None),
        "started": getattr(record, "started", None),
        "finished": getattr(record, "finished", None),
        "device": getattr(record, "device", None),
    }


def cmd_runs(args: argparse.Namespace) -> int:
    import warnings

    from seglab.store.run_store import RunStore, StoreWarning

    store = RunStore(args.home)
    with warnings.catch_warnings():  # unreadable runs are listed below, with their reason
        warnings.simplefilter("ignore", StoreWarning)
        records = store.list_runs()
    unreadable = [] if args.group or args.status not in (None, "unreadable") else store.unreadable_runs()
    if args.group:
        records = [r for r in records if r.group == args.group]
    if args.status:
        records = [r for r in records if r.status == args.status]
    if args.json:
        out = [run_to_dict(r) for r in records]
        out += [{"id": u.id, "status": u.status, "reason": u.reason} for u in unreadable]
        print(json.dumps(out, indent=2))
        return 0
    rows = [
        [
            r.id,
            r.status,
            r.config.dataset,
            r.config.arch,
            r.config.loss,
            r.config.seed,
            f"{r.epochs_done}/{r.config.epochs}",
            r.metrics.get("val_iou"),
            r.metrics.get("test_iou"),
            r.group or "",
        ]
        for r in records
    ]
    rows += [[u.id, u.status, "", "", "", "", "", None, None, u.reason[:60]] for u in unreadable]
    if not rows:
        print("no runs yet", file=sys.stderr)
        return 0
    print_table(
        rows, ["run", "status", "dataset", "arch", "loss", "seed", "epochs", "val IoU", "test IoU", "study"]
    )
    if unreadable:
        print(
            f"{len(unreadable)} run(s) cannot be read (the reason is in the last column); "
            "`seglab delete RUN_ID` removes one.",
            file=sys.stderr,
        )
    return 0


def cmd_jobs(args: argparse.Namespace) -> int:
    from seglab.jobs import JobQueue

    with JobQueue(args.home) as q:
        jobs = q.jobs(group=args.group, status=args.status)
    if args.json:
        print(json.dumps([j.to_dict() for j in jobs], indent=2, default=str))
        return 0
    if not jobs:
        print("the queue is empty", file=sys.stderr)
        return 0
    rows = []
    for j in jobs:
        p = j.progress
        where = f"{p.get('epoch', '-')}/{p.get('epochs', j.config.epochs)}" if p else "-"
        # best-so-far val IoU (the kept checkpoint's) and, when done, that checkpoint's test IoU
        best = (
            (j.result or {}).get("val_iou")
            or p.get("best_val_iou")
            or (p.get("metrics") or {}).get("val_iou")
        )
        test = (j.result or {}).get("test_iou")
        eta = format_duration(p.get("eta_seconds"), unknown="-") if j.status == RunStatus.RUNNING else ""
        rows.append(
            [j.id, j.group or "", j.status, j.label, where, best, test, eta, j.run_id or "", j.message[:60]]
        )
    headers = [
        "job",
        "study",
        "status",
        "model",
        "epoch",
        "best val IoU",
        "test IoU",
        "ETA",
        "run",
        "message",
    ]
    print_table(rows, headers)
    return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    from seglab.jobs import JobQueue

    with JobQueue(args.home) as q:
        for job_id in args.job_ids:
            state = q.cancel(job_id)
            note = " (stopping after the current batch)" if state == RunStatus.RUNNING else ""
            print(f"job {job_id}: {state}{note}")
    return 0


def cmd_resume(args: argparse.Namespace) -> int:
    from seglab.jobs import JobQueue, ensure_worker

    with JobQueue(args.home) as q:
        for job_id in args.job_ids:
            if str(job_id).isdigit():
                q.resume(job_id)
                print(f"job {job_id}: queued to resume")
            else:  # a run id: an interrupted or cancelled run (a killed foreground `train` too)
                new_job = q.enqueue_resume(job_id)
                print(f"run {job_id}: queued to resume as job {new_job}")
    if args.start_worker:
        ensure_worker(args.home)
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    from seglab.jobs.queue import DB_NAME, JobQueue
    from seglab.store.run_store import RunStore

    home = seglab_home(args.home)
    store = RunStore(home)
    busy: dict[str, int] = {}
    if (home / DB_NAME).exists():
        with JobQueue(home) as q:
            busy = {j.run_id: j.id for j in q.jobs(status=RunStatus.RUNNING) if j.run_id}
    for run_id in args.run_ids:
        if run_id in busy:
            raise SegLabError(f"run {run_id} is being trained by job {busy[run_id]}; cancel the job first.")
        if not store.run_dir(run_id).is_dir():  # unreadable runs can be deleted too
            raise SegLabError(f"there is no run {run_id!r} in {store.home}.")
    for run_id in args.run_ids:
        store.delete_run(run_id)
        print(f"deleted {run_id}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from seglab.store.run_store import RunStore

    store = RunStore(args.home)
    ids = [r.id for r in store.list_runs()] if args.all else list(args.run_ids)
    if not ids:
        raise SegLabError("nothing to export: name some runs or use --all.")
    for run_id in ids:
        if not store.exists(run_id):
            raise SegLabError(f"there is no run {run_id!r} in {store.home}.")
    path = store.export_runs(ids, args.output, weights=not args.no_weights, previews=args.previews)
    what = " without weights" if args.no_weights else ""
    print(f"exported {len(ids)} run(s){what} to {path}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from seglab.store.run_store import RunStore

    if not Path(args.zip).is_file():
        raise SegLabError(f"there is no file {args.zip}.")
    skipped: list[str] = []
    added = RunStore(args.home).import_runs(args.zip, skipped=skipped)
    for reason in skipped:
        print(f"seglab import: {reason}", file=sys.stderr)
    for run_id in added:
        print(run_id)
    print(f"imported {len(added)} run(s)", file=sys.stderr)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    import warnings

    from seglab.store.run_store import RunStore, StoreWarning
    from seglab.viz.report import write_report

    with warnings.catch_warnings():  # unreadable runs are named below instead
        warnings.simplefilter("ignore", StoreWarning)
        report = write_report(
            args.output,
            home=args.home,
            group=args.group,
            run_ids=_csv(args.runs) if args.runs else None,
            metric=args.metric,
            formats=tuple(_csv(args.formats)),
            checkpoint=args.checkpoint,
        )
    for bad in RunStore(args.home).unreadable_runs():
        print(f"seglab report: left out unreadable run {bad.id}: {bad.reason}", file=sys.stderr)
    for path in report.files:
        print(path, file=sys.stderr if args.json else sys.stdout)
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(report.best_sentence, file=sys.stderr)
    if args.json:
        print(json.dumps(report.to_json(), indent=2, allow_nan=False))
    return 0


# ---- the parser ---------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="seglab",
        description="SegLab: train segmentation models, run studies, compare results.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("train", help="train one model in the foreground (stored like any run)")
    _add_config_options(p)
    _add_home(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser(
        "study",
        help="queue an architecture × loss (× seed …) grid and run it",
        description="Queue one job per combination; run them here (default) or in a background worker.",
    )
    _add_config_options(p)
    p.add_argument("--archs", metavar="A,B", help="architectures to compare, e.g. unet,segnet")
    p.add_argument("--losses", metavar="L,M", help="losses to compare, e.g. bce,focal")
    p.add_argument(
        "--seeds",
        metavar="0-4",
        help="repeat each model with these seeds: 0-4, 0,1,2 or 0-2,5 (--preset quick or study: 0,1,2)",
    )
    p.add_argument(
        "--grid",
        action="append",
        metavar="KEY=V1,V2",
        help="vary any other config field or dataset parameter, e.g. fg_fraction=0.2,0.05,0.02 (repeatable)",
    )
    p.add_argument(
        "--data-per-seed",
        action="store_true",
        help="each seed draws its own data (the data seed follows the run seed)",
    )
    p.add_argument("--name", help="a name for the study")
    p.add_argument(
        "--background", action="store_true", help="queue and return; a background worker runs the jobs"
    )
    _add_slot_options(p, study=True)
    _add_home(p)
    p.set_defaults(func=cmd_study)

    p = sub.add_parser(
        "tune",
        help="tune hyper-parameters by k-fold cross-validation, then test the best once",
        description="Every --grid configuration is trained once per fold of the train+validation pool "
        "(the test split is never touched); the best CV mean IoU is retrained on the whole pool and "
        "evaluated once on test. " + FINAL_RUN_NOTE + " Runs go through the queue, so the app shows "
        "their progress.",
    )
    _add_config_options(p)
    p.add_argument(
        "--grid",
        action="append",
        metavar="KEY=V1,V2",
        help="values to try, e.g. lr=0.001,0.003,width=8,16 (repeatable; any config field but the data's)",
    )
    p.add_argument(
        "--folds",
        type=_setting_type(_schema_setting("folds")),
        default=DEFAULT_TUNE_FOLDS,
        help=f"number of folds K (default {DEFAULT_TUNE_FOLDS})",
    )
    p.add_argument("--seeds", metavar="0-2", help="repeat each fold with these seeds (averaged per fold)")
    p.add_argument("--name", help="a name for the tuning study")
    p.add_argument("--json", action="store_true", help="print the CV table and the final result as JSON")
    _add_home(p)
    p.set_defaults(func=cmd_tune)

    p = sub.add_parser("worker", help="run queued jobs, one at a time")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))
    p.add_argument("--once", action="store_true", help="exit when the queue is empty")
    p.add_argument("--max-jobs", type=_positive_int, help="exit after this many jobs")
    p.add_argument(
        "--poll", type=_positive_float, default=1.0, help="seconds between queue checks (default 1)"
    )
    p.add_argument("--idle-timeout", type=_positive_float, help="exit after this many idle seconds")
    p.add_argument("--cpu-workers", type=_positive_int, help="CPU workers allowed side by side (default 1)")
    p.add_argument("--slot", help=argparse.SUPPRESS)
    _add_slot_options(p)
    p.add_argument("--group", help="only run jobs of this study")
    _add_home(p)
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("runs", help="list stored runs")
    p.add_argument("--json", action="store_true", help="print a JSON list (id, status, config, metrics, …)")
    p.add_argument("--group", help="only runs of this study")
    p.add_argument("--status", help="only runs in this state")
    _add_home(p)
    p.set_defaults(func=cmd_runs)

    p = sub.add_parser("jobs", help="show the job queue")
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.add_argument("--group", help="only jobs of this study")
    p.add_argument("--status", help="only jobs in this state")
    _add_home(p)
    p.set_defaults(func=cmd_jobs)

    p = sub.add_parser("cancel", help="cancel queued or running jobs")
    p.add_argument("job_ids", nargs="+", metavar="JOB_ID")
    _add_home(p)
    p.set_defaults(func=cmd_cancel)

    p = sub.add_parser(
        "resume", help="queue interrupted jobs or runs again (they continue from their checkpoint)"
    )
    p.add_argument("job_ids", nargs="+", metavar="JOB_ID|RUN_ID")
    p.add_argument("--start-worker", action="store_true", help="also start a background worker if none runs")
    _add_home(p)
    p.set_defaults(func=cmd_resume)

    p = sub.add_parser("delete", help="delete stored runs")
    p.add_argument("run_ids", nargs="+", metavar="RUN_ID")
    _add_home(p)
    p.set_defaults(func=cmd_delete)

    p = sub.add_parser("export", help="write runs into a zip file")
    p.add_argument("run_ids", nargs="*", metavar="RUN_ID")
    p.add_argument("--all", action="store_true", help="export every run")
    p.add_argument(
        "--no-weights",
        action="store_true",
        help="leave out the model weights: histories, summaries and predictions only (small)",
    )
    p.add_argument(
        "--previews",
        type=_positive_int,
        metavar="N",
        help="keep only N predicted masks per split (and no probability maps): a smaller zip",
    )
    p.add_argument("-o", "--output", required=True, metavar="FILE.zip")
    _add_home(p)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("import", help="add runs from an exported zip file")
    p.add_argument("zip", metavar="FILE.zip")
    _add_home(p)
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("report", help="write comparison charts (PNG, SVG) and CSV tables")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--group", help="the study to report on")
    which.add_argument("--runs", metavar="ID,ID", help="these runs (comma-separated)")
    p.add_argument(
        "-o", "--output", default="report", metavar="DIR", help="folder for charts + CSV (default report)"
    )
    p.add_argument(
        "--metric",
        default="val_iou",
        choices=("val_iou", "test_iou"),
        help="order of the ranking chart (default val_iou); the best model is always chosen on val_iou",
    )
    p.add_argument(
        "--formats", default="png,svg", metavar="png,svg", help="chart formats to write (default png,svg)"
    )
    p.add_argument(
        "--checkpoint",
        default="best",
        choices=("best", "last"),
        help="score each run at its kept epoch (best on validation, default) or at its last epoch",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="print the comparisons (shared settings, checkpoint rule, cells with seed counts and "
        "bootstrap intervals, best by validation, tests) as JSON",
    )
    _add_home(p)
    p.set_defaults(func=cmd_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    started = time.time()
    try:
        return int(args.func(args) or 0)
    except SegLabError as exc:
        print(f"seglab {args.command}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print(f"seglab {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    finally:
        _print_queue_notice(args, started)


def _print_queue_notice(args: argparse.Namespace, started: float) -> None:
    """Say so when this command found the queue database damaged and replaced it (``jobs``
    repeats the notice for a day)."""
    if not hasattr(args, "home"):
        return
    from seglab.jobs.dbhealth import queue_notice

    max_age = 24 * 3600.0 if args.command == "jobs" else time.time() - started + 1.0
    text = queue_notice(seglab_home(args.home), max_age=max_age)
    if text:
        print(f"seglab {args.command}: note: {text}", file=sys.stderr)
