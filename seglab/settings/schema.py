"""The settings schema: one declaration per run setting, the only place a default or a range lives.

Each `Setting` names a `TrainConfig` field and says its type, default, hard bounds, unit, help,
group (data / model / loss / training / execution / cross-validation / transfer), where it shows
on the Train form and when it applies. Everything else is generated from it:

* `TrainConfig`'s defaults (``field(default=default_of("epochs"))``) and its range / choice checks
  (`check_setting`);
* the command line's options and their help (`seglab.cli.main`, through `cli_flag` / `cli_help`);
* the Train form's and the Tune tab's widgets, all bound to the URL (`seglab.ui.settings_form`);
* presets, which are partial settings over this schema (`seglab.settings.presets`);
* the settings table in docs/API.md (`settings_table_markdown`, kept up to date by a test).

The bounds are wide *hard* limits (what the engine accepts at all); classroom limits set by a
teacher narrow them further elsewhere. To add a setting: add a field to `TrainConfig` whose
default is ``default_of(name)`` and one `register_setting(Setting(...))` (or an entry below).
This module imports nothing heavy: it sits under `settings.config`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from seglab.errors import ConfigError

#: the groups, in the order the form, the CLI help and the docs list them
GROUPS: tuple[str, ...] = ("data", "model", "loss", "training", "execution", "cross-validation", "transfer")

#: the largest seed torch and numpy accept everywhere we use one
MAX_SEED = 2**63 - 1

#: folds of a tuning when none are given (CLI ``tune --folds``, the Tune tab)
DEFAULT_TUNE_FOLDS = 3


@dataclass(frozen=True)
class Setting:
    """One run setting.

    * ``type``: int, float, str, bool or dict (registry parameters: ``KEY=VALUE`` on the CLI).
    * ``default``: the one default (``None`` only with ``optional``; ``none_label`` says what None means).
    * ``min`` / ``max``: hard bounds, inclusive; ``choices``: the allowed values of a text setting.
    * ``form``: where the Train form shows it: ``"main"`` (its group's column), ``"more"`` (the
      "More options" expander), ``"transfer"`` (the transfer expander) or ``""`` (not generated:
      the page has its own widget, or the setting is the worker's business).
    * ``flag``: the CLI option (``""``: none; ``None``: ``--`` + the name with dashes);
      ``flag_const``: the value of the flag given without a number (``--freeze-encoder``).
    * ``key``: the widget key and URL parameter (``None``: ``tr_`` + the name).
    * ``tune_factors``: a setting the Tune tab offers as a grid axis; its default grid is the
      form's value times each factor.
    * ``applies``: when the setting matters, in plain words ("" = always).
    """

    name: str
    type: type
    default: Any
    group: str
    label: str
    help: str
    min: float | None = None
    max: float | None = None
    step: float | None = None
    unit: str = ""
    choices: tuple[str, ...] | None = None
    optional: bool = False
    none_label: str = ""
    form: str = ""
    flag: str | None = None
    flag_const: Any = None
    key: str | None = None
    tune_factors: tuple[float, ...] = ()
    applies: str = ""
    names_of: str = ""  # a registry whose names the setting takes: datasets | models | losses
    number_format: str | None = None

    def __post_init__(self) -> None:
        if self.group not in GROUPS:
            raise ValueError(f"setting {self.name!r}: unknown group {self.group!r}")
        if self.default is None and not self.optional:
            raise ValueError(f"setting {self.name!r}: a None default needs optional=True")

    @property
    def widget_key(self) -> str:
        return self.key or f"tr_{self.name}"

    @property
    def cli_flag(self) -> str:
        return f"--{self.name.replace('_', '-')}" if self.flag is None else self.flag

    def bounds_text(self) -> str:
        """'1 to 1000', 'at least 0', 'adam, adamw or sgd', or ''."""
        if self.choices:
            return _either(self.choices)
        if self.min is not None and self.max is not None:
            return f"{_num(self.min)} to {_num(self.max)}"
        if self.min is not None:
            return f"at least {_num(self.min)}"
        if self.max is not None:
            return f"at most {_num(self.max)}"
        return ""

    def default_text(self) -> str:
        if self.default is None:
            return self.none_label or "none"
        if self.type is dict:
            return "none"
        if isinstance(self.default, bool):
            return "on" if self.default else "off"
        return _num(self.default) if isinstance(self.default, (int, float)) else str(self.default)


def _num(x: float) -> str:
    if x == MAX_SEED:
        return "2**63 - 1"
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return f"{x:g}" if isinstance(x, float) else str(x)


def _either(options: tuple[str, ...]) -> str:
    return options[0] if len(options) == 1 else ", ".join(options[:-1]) + " or " + options[-1]


# ---- the declarations ------------------------------------------------------------------------------
SETTINGS: dict[str, Setting] = {}


def register_setting(setting: Setting) -> Setting:
    """Add (or replace) one declaration; the CLI, the form and the docs pick it up."""
    if setting.type is not dict:
        check_value(setting, setting.default)  # a default outside its own bounds is a bug
    SETTINGS[setting.name] = setting
    return setting


_DECLARATIONS = (
    # data
    Setting(
        "dataset",
        str,
        "shapes",
        "data",
        "Dataset",
        "a built-in dataset, or a folder / .zip of images and masks",
        names_of="datasets",
        flag="--dataset",
    ),
    Setting(
        "dataset_params",
        dict,
        None,
        "data",
        "Dataset parameters",
        "dataset parameter (repeatable)",
        optional=True,
        flag="--dataset-param",
        applies="built-in datasets that declare parameters",
    ),
    Setting(
        "size",
        int,
        64,
        "data",
        "Image size",
        "side of the square images the model sees",
        min=8,
        max=2048,
        step=16,
        unit="pixels",
        form="main",
    ),
    Setting(
        "n",
        int,
        None,
        "data",
        "Number of images",
        "images drawn or read, split into training, validation and test",
        min=3,
        max=1_000_000,
        step=32,
        unit="images",
        optional=True,
        none_label="all of the dataset",
        form="main",
    ),
    Setting(
        "split_seed",
        int,
        0,
        "data",
        "Split seed",
        "seed of the synthetic data and of the train / validation / test split",
        min=0,
        max=MAX_SEED,
        form="more",
    ),
    Setting(
        "val_fraction",
        float,
        0.15,
        "data",
        "Validation share",
        "share of the images kept for validation",
        min=0.01,
        max=0.9,
        step=0.05,
        form="more",
    ),
    Setting(
        "test_fraction",
        float,
        0.15,
        "data",
        "Test share",
        "share of the images kept for the final test",
        min=0.01,
        max=0.9,
        step=0.05,
        form="more",
    ),
    # model
    Setting("arch", str, "unet", "model", "Architecture", "architecture", names_of="models"),
    Setting(
        "width",
        int,
        16,
        "model",
        "Width",
        "channels of the first level",
        min=1,
        max=512,
        step=2,
        unit="channels",
        form="main",
        tune_factors=(1,),
    ),
    Setting(
        "depth",
        int,
        3,
        "model",
        "Depth",
        "number of down-sampling steps; each halves the resolution and doubles the channels",
        min=1,
        max=8,
        step=1,
        unit="levels",
        form="main",
        tune_factors=(1,),
    ),
    Setting(
        "model_params",
        dict,
        None,
        "model",
        "Architecture options",
        "architecture option, repeatable",
        optional=True,
        flag="--model-param",
        applies="architectures that declare options",
    ),
    # loss
    Setting("loss", str, "bce_dice", "loss", "Loss", "loss", names_of="losses"),
    Setting(
        "loss_params",
        dict,
        None,
        "loss",
        "Loss parameters",
        "loss parameter, repeatable, e.g. alpha=auto gamma=2",
        optional=True,
        flag="--loss-param",
        applies="losses that declare parameters (focal, Tversky, …)",
    ),
    # training
    Setting(
        "epochs",
        int,
        10,
        "training",
        "Epochs",
        "passes over the training images",
        min=1,
        max=1000,
        step=1,
        form="main",
    ),
    Setting(
        "batch_size",
        int,
        16,
        "training",
        "Batch size",
        "images per optimisation step",
        min=1,
        max=4096,
        step=1,
        unit="images",
        form="main",
        key="tr_batch",
    ),
    Setting(
        "lr",
        float,
        1e-3,
        "training",
        "Learning rate",
        "step size of the optimiser (no upper bound: a huge rate is how the lab shows a diverging run)",
        min=1e-12,
        step=1e-4,
        form="main",
        number_format="%.4g",
        tune_factors=(1, 3),
    ),
    Setting(
        "optimizer",
        str,
        "adam",
        "training",
        "Optimiser",
        "the optimisation algorithm",
        choices=("adam", "adamw", "sgd"),
        form="more",
    ),
    Setting(
        "weight_decay",
        float,
        0.0,
        "training",
        "Weight decay",
        "L2 penalty on the weights (decoupled with adamw)",
        min=0.0,
        max=1.0,
        step=1e-4,
        form="more",
        number_format="%.4g",
    ),
    Setting(
        "lr_schedule",
        str,
        "cosine",
        "training",
        "Learning-rate schedule",
        "cosine: decays to 0 over the run, step by step; constant: no decay",
        choices=("cosine", "constant"),
        form="more",
    ),
    Setting(
        "augment",
        bool,
        True,
        "training",
        "Augment training images",
        "random flips, rotations and shifts of the training images",
        form="more",
    ),
    Setting(
        "seed",
        int,
        0,
        "training",
        "Seed",
        "seed of the model's first weights and of the shuffling (a study repeats runs over its seeds)",
        min=0,
        max=MAX_SEED,
    ),
    # execution (the worker's business: not on the form)
    Setting(
        "device",
        str,
        "auto",
        "execution",
        "Device",
        "auto: CUDA, then MPS, then CPU",
        choices=("auto", "cpu", "cuda", "mps"),
    ),
    Setting(
        "precision",
        str,
        "auto",
        "execution",
        "Precision",
        "auto: bf16 autocast on CUDA, fp32 elsewhere",
        choices=("auto", "fp32", "bf16"),
    ),
    Setting(
        "num_threads",
        int,
        None,
        "execution",
        "CPU threads",
        "CPU threads for torch",
        min=1,
        max=1024,
        optional=True,
        none_label="the engine's choice",
        flag="--threads",
    ),
    # cross-validation (set by `tune`, not by hand)
    Setting(
        "folds",
        int,
        None,
        "cross-validation",
        "Folds",
        "number of folds K the train + validation pool is cut into",
        min=2,
        max=50,
        optional=True,
        none_label="no cross-validation",
        flag="",
        applies="tuning runs (the tune command, the Tune tab)",
    ),
    Setting(
        "fold",
        int,
        None,
        "cross-validation",
        "Fold",
        "the fold validated on (the others train); none: the whole pool trains and the test split is scored",
        min=0,
        max=49,
        optional=True,
        none_label="the whole pool",
        flag="",
        applies="tuning runs",
    ),
    # transfer learning
    Setting(
        "encoder_weights",
        str,
        None,
        "transfer",
        "Encoder weights file",
        "VGG16 / MobileNetV2 encoder weights in torchvision's layout (.pt / .pth)",
        optional=True,
        form="transfer",
        none_label="none",
        applies="architectures with a pretrained-style encoder (FCN vgg16, FPN mobilenet_v2)",
        key="tr_encoder_weights",
    ),
    Setting(
        "init_from",
        str,
        None,
        "transfer",
        "Start from run",
        "id of a stored run whose best weights start this one",
        optional=True,
        none_label="random weights",
        form="transfer",
    ),
    Setting(
        "init_scope",
        str,
        "encoder",
        "transfer",
        "Copy",
        "what --init-from copies: the encoder, or all layers whose shapes match",
        choices=("encoder", "all"),
        form="transfer",
        applies="runs started with --init-from",
    ),
    Setting(
        "freeze_encoder_epochs",
        int,
        0,
        "transfer",
        "Freeze the encoder for the first … epochs",
        "keep the encoder's weights fixed: 0 = never, N = the first N epochs, -1 = the whole run "
        "(the flag without a number)",
        min=-1,
        max=1000,
        step=1,
        unit="epochs",
        form="transfer",
        flag="--freeze-encoder",
        flag_const=-1,
        key="tr_freeze_epochs",
        applies="architectures with an encoder",
    ),
)


def setting(name: str) -> Setting:
    try:
        return SETTINGS[name]
    except KeyError:
        raise ConfigError(f"unknown setting {name!r}; valid settings: {', '.join(SETTINGS)}.") from None


def default_of(name: str) -> Any:
    """The declared default of ``name`` (what `TrainConfig` uses)."""
    return SETTINGS[name].default


def settings_in(group: str | None = None, *, form: str | None = None) -> list[Setting]:
    """The declarations of one group and / or one form place, in declaration order."""
    return [
        s
        for s in SETTINGS.values()
        if (group is None or s.group == group) and (form is None or s.form == form)
    ]


# ---- checks --------------------------------------------------------------------------------------
def check_value(s: Setting, value: Any) -> None:
    """Raise ConfigError (one plain sentence) when ``value`` is outside ``s``'s bounds or choices.
    Types are checked by `TrainConfig` from its annotations; None is for optional settings."""
    if value is None:
        if not s.optional:
            raise ConfigError(f"{s.name} needs a value ({s.help}).")
        return
    if s.choices is not None and value not in s.choices:
        raise ConfigError(f"{s.name} must be {_either(s.choices)}, not {value!r}.")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{s.name} must be a finite number, got {value}.")
        if (s.min is not None and value < s.min) or (s.max is not None and value > s.max):
            raise ConfigError(f"{s.name} must be {s.bounds_text()}, got {_num(value)}.")


def check_setting(name: str, value: Any) -> None:
    """`check_value` by name (names the schema does not declare are not checked here)."""
    if name in SETTINGS:
        check_value(SETTINGS[name], value)


def check_partial(values: dict[str, Any], what: str) -> None:
    """Check a partial settings dict (a preset): known names, values within bounds."""
    unknown = sorted(set(values) - set(SETTINGS))
    if unknown:
        raise ConfigError(f"{what}: unknown setting(s) {', '.join(unknown)}.")
    for name, value in values.items():
        if SETTINGS[name].type is not dict:
            check_value(SETTINGS[name], value)


# ---- the docs table ---------------------------------------------------------------------------------
TABLE_BEGIN = "<!-- settings-table:begin (generated by seglab.settings.schema; do not edit by hand) -->"
TABLE_END = "<!-- settings-table:end -->"


def settings_table_markdown() -> str:
    """The settings table of docs/API.md: one row per declaration, grouped."""
    lines = [
        "| setting | group | CLI | default | range | unit | applies to | meaning |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for group in GROUPS:
        for s in settings_in(group):
            flag = f"`{s.cli_flag}`" if s.cli_flag else "—"
            lines.append(
                f"| `{s.name}` | {s.group} | {flag} | {s.default_text()} | {s.bounds_text() or '—'} | "
                f"{s.unit or '—'} | {s.applies or 'all runs'} | {s.help} |"
            )
    return "\n".join([TABLE_BEGIN, *lines, TABLE_END])


for _setting in _DECLARATIONS:
    register_setting(_setting)
