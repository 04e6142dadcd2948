"""The loss registry: one entry per loss with its code, formula, explanation and parameters.

The Loss lab renders ``latex`` with ``st.latex`` and builds widgets from ``params``; the
training engine calls :func:`get_loss`. Formula and code therefore come from one place.

Parameter widgets: every :class:`~seglab.registry.ParamSpec` here has a numeric default,
except focal's ``alpha`` whose default is the string ``"auto"`` (α from the training set's
class balance, fixed once per run); its ``min``/``max``/``step`` describe the slider to show when
the user switches "auto" off.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from seglab.errors import LossParameterError
from seglab.losses.modules import (
    BCEDiceLoss,
    ClassWeightedBCELoss,
    CrossEntropyLoss,
    DeepSupervisionBCELoss,
    DiceLoss,
    FocalLoss,
    FocusingFocalLoss,
    SegLoss,
    TverskyLoss,
)
from seglab.registry import ParamSpec, Registry, check_param


@dataclass(frozen=True)
class LossInfo:
    """Everything the app shows about a loss, and how to build it."""

    name: str
    title: str
    latex: str
    explanation: str
    params: list[ParamSpec]
    factory: Callable[..., SegLoss]
    pixel_map_note: str  # what the per-pixel heatmap shows, in plain words
    reference: str = ""
    binary: bool = True
    multiclass: bool = True
    uses_aux: bool = False
    family: str = "pixel"  # "pixel" (per-pixel losses) | "region" (ratios of batch sums) | "mixed"
    multiclass_title: str = ""  # the title with more than two classes, where the loss changes form
    defaults: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "defaults", {p.name: p.default for p in self.params})

    def title_for(self, num_classes: int | None) -> str:
        """The title that fits the data: 'Binary cross-entropy (BCE)' for two classes (or unknown),
        'Cross-entropy …' where a multi-class head turns BCE into its softmax form."""
        if num_classes is not None and num_classes > 2 and self.multiclass_title:
            return self.multiclass_title
        return self.title


LOSSES: Registry[LossInfo] = Registry("loss")


def get_loss(name: str, **params: Any) -> SegLoss:
    """Build the loss ``name`` with ``params`` (missing ones take their defaults).

    Raises UnknownNameError for an unknown loss and LossParameterError for an unknown
    parameter name or a value out of range.
    """
    info = LOSSES.get(name)
    checked = check_loss_params(name, params)
    loss = info.factory(**{**info.defaults, **checked})
    loss.name = name
    return loss


def check_loss_params(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` of loss ``name`` checked against its ParamSpecs (names, types, ranges)
    without building the loss; raises LossParameterError in plain words."""
    info = LOSSES.get(name)
    specs = {p.name: p for p in info.params}
    unknown = sorted(set(params) - set(specs))
    if unknown:
        valid = ", ".join(specs) or "none"
        raise LossParameterError(
            f"loss {name!r} has no parameter {', '.join(map(repr, unknown))}. Valid parameters: {valid}."
        )
    return {
        key: check_param(specs[key], value, f"parameter {key!r} of loss {name!r}", LossParameterError)
        for key, value in params.items()
    }


def list_losses() -> list[str]:
    """Registered loss names, in a stable teaching order."""
    return LOSSES.names()


def loss_info(name: str) -> LossInfo:
    """The registry entry for ``name`` (UnknownNameError lists the valid names)."""
    return LOSSES.get(name)


# --------------------------------------------------------------------------------------
# Shared parameter specs and notes
# --------------------------------------------------------------------------------------

_SMOOTH = ParamSpec(
    "smooth",
    1.0,
    0.01,
    10.0,
    0.01,
    help="Added to numerator and denominator (s). Keeps empty masks defined; must be > 0.",
)
_PER_PIXEL_NOTE = "The loss of each pixel; the map's mean is the loss."
_REGION_NOTE = (
    "A region loss has no loss per pixel. The map shows each pixel's exact share of the batch loss "
    "(its soft error divided by the batch-wide denominator), times the number of pixels so that "
    "the map's mean is the loss."
)

_BCE_LATEX = (
    r"\mathcal{L}_{\mathrm{BCE}} = -\frac{1}{|\Omega|}\sum_{i\in\Omega}"
    r"\Big[w_{+}\,y_i\log p_i + (1-y_i)\log(1-p_i)\Big],\qquad p_i=\sigma(z_i)"
)
_CE_LATEX = (
    r"\mathcal{L}_{\mathrm{CE}} = -\frac{1}{|\Omega|}\sum_{i\in\Omega}\sum_{c=1}^{C} y_{ic}\log p_{ic},"
    r"\qquad p_{ic}=\frac{e^{z_{ic}}}{\sum_{k} e^{z_{ik}}}"
)
_DICE_LATEX = (
    r"\mathcal{L}_{\mathrm{Dice}} = 1-\frac{1}{K}\sum_{c=1}^{K}"
    r"\frac{2\sum_{i} p_{ic}\,y_{ic} + s}{\sum_{i} p_{ic} + \sum_{i} y_{ic} + s}"
)

# --------------------------------------------------------------------------------------
# Entries
# --------------------------------------------------------------------------------------

LOSSES.add(
    "bce",
    LossInfo(
        name="bce",
        title="Binary cross-entropy (BCE)",
        multiclass_title="Cross-entropy (BCE's multi-class form)",
        latex=_BCE_LATEX,
        explanation=(
            "BCE treats every pixel as its own yes/no question and charges −log of the probability the "
            "model gave to the right answer, averaged over all pixels Ω. It is the default choice: smooth, "
            "well-behaved gradients (p − y per pixel) and no assumptions about shape. Its pitfall is class "
            "imbalance: when 95 % of pixels are background, the model can get a low loss by predicting "
            "background almost everywhere; `pos_weight` (w₊) raises the cost of missed foreground. "
            "With several classes it becomes the softmax cross-entropy."
        ),
        params=[
            ParamSpec(
                "pos_weight",
                1.0,
                0.1,
                20.0,
                0.1,
                help="w₊: weight of foreground pixels (for several classes: every class except 0).",
            )
        ],
        factory=CrossEntropyLoss,
        pixel_map_note=_PER_PIXEL_NOTE,
        reference="Bernoulli negative log-likelihood; Goodfellow, Bengio & Courville, Deep Learning (2016), §6.2.",
    ),
)

LOSSES.add(
    "ce",
    LossInfo(
        name="ce",
        title="Cross-entropy (CE)",
        latex=_CE_LATEX,
        explanation=(
            "Cross-entropy turns the C scores of each pixel into probabilities with a softmax and charges "
            "−log of the probability of the true class, averaged over all pixels. It is the standard loss "
            "for multi-class segmentation and behaves like BCE: every pixel counts the same, so rare "
            "classes contribute little and can be ignored by the model. With a one-channel (binary) head "
            "it is computed as BCE, which is the same formula written with one logit instead of two."
        ),
        params=[],
        factory=CrossEntropyLoss,
        pixel_map_note=_PER_PIXEL_NOTE,
        reference="Goodfellow, Bengio & Courville, Deep Learning (2016), §6.2.2.3.",
    ),
)

LOSSES.add(
    "dice",
    LossInfo(
        name="dice",
        title="Soft Dice loss",
        latex=_DICE_LATEX,
        explanation=(
            "Dice loss measures overlap instead of per-pixel correctness: it is one minus a soft Dice "
            "coefficient, with probabilities in place of hard 0/1 predictions, and sums taken over the whole "
            "batch (batch-level Dice, what SegLab trains with). Every wrong pixel is divided by the same "
            "batch-wide denominator 2·TP + FP + FN, so missing a whole 16-pixel object costs exactly as much "
            "as missing 16 pixels of a 1024-pixel one; the ratio still helps with heavy class imbalance, "
            "because that denominator shrinks with the foreground. Per-image Dice (one ratio per image, "
            "then averaged) is the variant in which a small object counts as much as a large one; the Loss "
            "lab shows both. Pitfalls: its push on the probabilities, ∂L/∂p, is the same for every pixel "
            "of a class, right or wrong, so it keeps driving correct pixels towards 0 or 1 as hard as "
            "wrong ones and its probabilities are poorly calibrated (Dice-trained nets tend to be "
            "over-confident); for binary masks it gives no credit for true negatives; and its gradient "
            "is noisy for tiny or empty masks (the smoothing s keeps it defined). That is why it is "
            "often combined with BCE. Binary uses the foreground only (K = 1); multi-class averages "
            "over all C classes, background included."
        ),
        params=[_SMOOTH],
        factory=DiceLoss,
        pixel_map_note=_REGION_NOTE,
        reference=(
            "Sudre et al., Generalised Dice overlap, DLMIA 2017 (one class, unit weight), and nnU-Net's "
            "batch Dice (Isensee et al., Nature Methods 2021), both with this linear denominator "
            "Σp + Σy = 2·TP + FP + FN. Milletari, Navab & Ahmadi (V-Net, 3DV 2016), who introduced the "
            "Dice loss, square the terms: Σp² + Σy²."
        ),
        family="region",
    ),
)

LOSSES.add(
    "bce_dice",
    LossInfo(
        name="bce_dice",
        title="BCE + Dice",
        multiclass_title="Cross-entropy + Dice",
        latex=r"\mathcal{L} = \lambda_{\mathrm{BCE}}\,\mathcal{L}_{\mathrm{BCE}} + \lambda_{\mathrm{Dice}}\,\mathcal{L}_{\mathrm{Dice}}",
        explanation=(
            "A weighted sum of cross-entropy and Dice loss. Cross-entropy gives stable, pixel-level "
            "gradients from the first step; Dice adds a region-level term that keeps the foreground as a "
            "whole from being swamped by background (small objects get no special weight: batch-level "
            "Dice charges a missed 16-pixel object like 16 missed pixels of a big one). This pairing is "
            "a robust default for binary segmentation. The two terms live on different scales (CE is "
            "unbounded, Dice is in [0, 1]) and each falls at its own pace, so the balance between them "
            "drifts during training: the weights do matter. Start at 1:1 and treat the ratio as a "
            "hyper-parameter."
        ),
        params=[
            ParamSpec("bce_weight", 1.0, 0.0, 5.0, 0.1, help="λ_BCE, weight of the cross-entropy term."),
            ParamSpec("dice_weight", 1.0, 0.0, 5.0, 0.1, help="λ_Dice, weight of the Dice term."),
            _SMOOTH,
        ],
        factory=BCEDiceLoss,
        pixel_map_note="λ_BCE × the per-pixel cross-entropy plus λ_Dice × the Dice share map; its mean is the loss.",
        reference="Common practice, e.g. Isensee et al., nnU-Net, Nature Methods 2021.",
        family="mixed",
    ),
)

LOSSES.add(
    "focal",
    LossInfo(
        name="focal",
        title="Focal loss",
        latex=(
            r"\begin{gathered}\mathcal{L}_{\mathrm{FL}} = -\frac{1}{|\Omega|}\sum_{i\in\Omega}\Big[\alpha\,(1-p_i)^{\gamma}\,y_i\log p_i"
            r" + (1-\alpha)\,p_i^{\gamma}\,(1-y_i)\log(1-p_i)\Big]\\"
            r"\alpha_{\text{auto}} = \frac{N_{\text{neg}}}{N_{\text{pos}}+N_{\text{neg}}}\end{gathered}"
        ),
        explanation=(
            "Focal loss is BCE multiplied by a modulating factor (1 − p_t)^γ, where p_t is the probability "
            "given to the true class: pixels that are already right (p_t near 1) are down-weighted, so "
            'training focuses on the hard ones. α balances the two classes; α = "auto" sets it to the share '
            "of background pixels in the training set, counted once before training and stored with the "
            "run (not re-estimated per batch, so a batch without foreground still pays for false alarms); "
            "the rare foreground weighs more. With several classes auto gives α_c = 1 − (share of class "
            "c), which hardly balances them: on aerial the rarest class weighs only about 2.2× the "
            "commonest, where inverse frequency would give about 70×. γ = 0 and α = 0.5 give "
            "half of BCE. Pitfalls: large γ makes gradients small once most pixels are easy, so it may need a "
            "larger learning rate; with several classes it uses the softmax form −α_c(1 − p_t)^γ log p_t."
        ),
        params=[
            ParamSpec(
                "alpha",
                "auto",
                0.0,
                1.0,
                0.05,
                help='α: weight of the foreground term (background gets 1 − α). "auto" = N_neg / (N_pos + N_neg) '
                "counted over the training set; a list gives one weight per class.",
            ),
            ParamSpec(
                "gamma", 2.0, 0.0, 5.0, 0.25, help="γ ≥ 0: how strongly easy pixels are down-weighted."
            ),
        ],
        factory=FocalLoss,
        pixel_map_note=_PER_PIXEL_NOTE,
        reference="Lin, Goyal, Girshick, He & Dollár, Focal Loss for Dense Object Detection, ICCV 2017.",
    ),
)

# ---- focal loss taken apart (issue 26): class weight alone, focusing alone ----------------------
# Focal loss changes BCE in two ways at once: the class weight α and the focusing factor (1 − p_t)^γ.
# These two entries keep one and drop the other, so the imbalance study can tell which one helps.

LOSSES.add(
    "bce_weighted",
    LossInfo(
        name="bce_weighted",
        title="Class-weighted BCE (α = auto, γ = 0)",
        latex=(
            r"\begin{gathered}\mathcal{L}_{\mathrm{wBCE}} = -\frac{1}{|\Omega|}\sum_{i\in\Omega}\Big[\alpha\,y_i\log p_i"
            r" + (1-\alpha)\,(1-y_i)\log(1-p_i)\Big]\\"
            r"\alpha = \frac{N_{\text{neg}}}{N_{\text{pos}}+N_{\text{neg}}}\end{gathered}"
        ),
        explanation=(
            "Class weighting alone: BCE in which each foreground pixel weighs α and each background pixel "
            "1 − α, with α the share of background pixels counted once over the training set. It is focal "
            "loss with γ = 0 and α = auto, and also BCE with pos_weight = N_neg / N_pos scaled by 1 − α: at "
            "2 % foreground a missed foreground pixel costs 49 times a false alarm, so predicting all "
            "background is no longer cheap. Every pixel still counts in full, however easy (no focusing). "
            "Compare it with focal α = 0.5 (focusing alone) to see which half of focal loss fights imbalance."
        ),
        params=[],
        factory=ClassWeightedBCELoss,
        pixel_map_note=_PER_PIXEL_NOTE,
        reference="Class-weighted cross-entropy, e.g. Long, Shelhamer & Darrell, FCN, CVPR 2015 (median frequency "
        "balancing: Eigen & Fergus, ICCV 2015); = focal loss with γ = 0 (Lin et al., ICCV 2017).",
    ),
)

LOSSES.add(
    "focal_focus",
    LossInfo(
        name="focal_focus",
        title="Focal, focusing only (α = 0.5)",
        latex=(
            r"\mathcal{L}_{\mathrm{FL},\,\alpha=0.5} = -\frac{1}{|\Omega|}\sum_{i\in\Omega}\tfrac{1}{2}\Big[(1-p_i)^{\gamma}\,y_i\log p_i"
            r" + p_i^{\gamma}\,(1-y_i)\log(1-p_i)\Big]"
        ),
        explanation=(
            "Focusing alone: focal loss with α = 0.5, so both classes weigh the same and only the "
            "modulating factor (1 − p_t)^γ is left. Pixels the model already gets right are down-weighted, "
            "whichever class they belong to; a rare foreground gets no extra weight. With γ = 0 it is half "
            "of BCE. Compare it with class-weighted BCE (weighting alone) and with focal α = auto, γ = 2 "
            "(both) to see which half of focal loss fights imbalance."
        ),
        params=[
            ParamSpec("gamma", 2.0, 0.0, 5.0, 0.25, help="γ ≥ 0: how strongly easy pixels are down-weighted.")
        ],
        factory=FocusingFocalLoss,
        pixel_map_note=_PER_PIXEL_NOTE,
        reference="Lin, Goyal, Girshick, He & Dollár, Focal Loss for Dense Object Detection, ICCV 2017.",
    ),
)

LOSSES.add(
    "tversky",
    LossInfo(
        name="tversky",
        title="Tversky loss",
        latex=(
            # two lines (gathered): one line is wider than the page at 1280 px
            r"\begin{gathered}\mathcal{L}_{\mathrm{Tv}} = 1-\frac{1}{K}\sum_{c=1}^{K}"
            r"\frac{TP_c + s}{TP_c + a\,FP_c + b\,FN_c + s}\\"
            r"TP_c=\sum_i p_{ic}y_{ic},\quad FP_c=\sum_i p_{ic}(1-y_{ic}),\quad FN_c=\sum_i (1-p_{ic})\,y_{ic}"
            r"\end{gathered}"
        ),
        explanation=(
            "Tversky loss generalises Dice by weighting the two kinds of mistake separately: a for false "
            "positives and b for false negatives, counted softly from probabilities over the whole batch. "
            "Choosing b > a (default 0.7 vs 0.3) makes missing foreground more expensive than a false "
            "alarm, which raises recall on small or rare structures. With a = b = 0.5 it is the Dice loss "
            "(exactly so when its smoothing is half of Dice's). Pitfall: pushing b too high floods the "
            "prediction with false positives."
        ),
        params=[
            ParamSpec("fp_weight", 0.3, 0.0, 1.0, 0.05, help="a: weight of false positives."),
            ParamSpec("fn_weight", 0.7, 0.0, 1.0, 0.05, help="b: weight of false negatives."),
            _SMOOTH,
        ],
        factory=TverskyLoss,
        pixel_map_note=_REGION_NOTE,
        reference="Salehi, Erdogmus & Gholipour, Tversky loss function for image segmentation, MLMI 2017.",
        family="region",
    ),
)

LOSSES.add(
    "bce_ds",
    LossInfo(
        name="bce_ds",
        title="BCE with deep supervision",
        multiclass_title="Cross-entropy with deep supervision",
        latex=(
            r"\mathcal{L}_{\mathrm{DS}} = \frac{\mathcal{L}_{\mathrm{BCE}}(z) + \lambda\sum_{k=1}^{M}"
            r"\mathcal{L}_{\mathrm{BCE}}(z^{(k)})}{1+\lambda M}"
        ),
        explanation=(
            'SegLab reads the study\'s "BCE supervised regularization" (the study says only that it combines '
            "BCE with regularisation techniques) as deep supervision: besides the final output z, the "
            "network has M side outputs z⁽ᵏ⁾ computed from hidden layers (upsampled to full size), and "
            "each gets its own BCE "
            "against the same mask. Supervising hidden layers directly gives them a clear training signal "
            "and acts as a regulariser (deeply-supervised nets). The total is divided by 1 + λM so its value "
            "stays comparable with plain BCE; λ = 0, or a model without side outputs, gives plain BCE. "
            "Only the main output is used for predictions. M depends on the architecture, so the same "
            "λ is not the same loss everywhere: at depth 3 U-Net and SegNet have M = 3 side heads (main "
            "output weight 1/(1 + 3λ) = 0.45 at λ = 0.4), U-Net++ has M = 2 (0.56)."
        ),
        params=[ParamSpec("aux_weight", 0.4, 0.0, 2.0, 0.05, help="λ: weight of each side output's BCE.")],
        factory=DeepSupervisionBCELoss,
        pixel_map_note="The weighted average of the per-pixel BCE of the main and side outputs; its mean is the loss.",
        reference="Lee, Xie, Gallagher, Zhang & Tu, Deeply-Supervised Nets, AISTATS 2015.",
        uses_aux=True,
    ),
)
