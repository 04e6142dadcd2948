"""The Inside page's sentences about a model's answer and its side outputs, for binary and
multi-class runs, with every number they state computed here from the prediction itself."""

from __future__ import annotations

import numpy as np

#: below this confidence (probability of the chosen class) a pixel counts as "unsure"
UNSURE_BELOW = 0.75
#: "near a border": at most this many pixels (in x and y) from a boundary between predicted labels
BORDER_REACH = 2


def boundary_band(labels: np.ndarray, reach: int = BORDER_REACH) -> np.ndarray:
    """Bool (H, W): pixels at most ``reach`` pixels (Chebyshev distance) from a boundary of the
    label map, a boundary pixel being one whose right or lower neighbour has another label
    (both pixels of such a pair are on it)."""
    labels = np.asarray(labels)
    edge = np.zeros(labels.shape, dtype=bool)
    dx = labels[:, 1:] != labels[:, :-1]
    dy = labels[1:, :] != labels[:-1, :]
    edge[:, 1:] |= dx
    edge[:, :-1] |= dx
    edge[1:, :] |= dy
    edge[:-1, :] |= dy
    h, w = edge.shape
    padded = np.pad(edge, reach)
    band = np.zeros_like(edge)
    for oy in range(2 * reach + 1):
        for ox in range(2 * reach + 1):
            band |= padded[oy : oy + h, ox : ox + w]
    return band


def answer_numbers(labels: np.ndarray, confidence: np.ndarray) -> dict[str, float]:
    """``object`` (share of pixels labelled ≠ 0), ``unsure`` (share with confidence below
    `UNSURE_BELOW`), ``unsure_of_object`` (that share among the object pixels, NaN without any)
    and ``unsure_near_border`` (share of the unsure pixels within `BORDER_REACH` of a boundary of
    the predicted labels, NaN without unsure pixels)."""
    labels, confidence = np.asarray(labels), np.asarray(confidence)
    obj = labels != 0
    unsure = confidence < UNSURE_BELOW
    near = boundary_band(labels)
    return {
        "object": float(obj.mean()),
        "unsure": float(unsure.mean()),
        "unsure_of_object": float(unsure[obj].mean()) if obj.any() else float("nan"),
        "unsure_near_border": float(near[unsure].mean()) if unsure.any() else float("nan"),
    }


def answer_caption(labels: np.ndarray, confidence: np.ndarray, num_classes: int) -> str:
    """One or two sentences under the prediction: what share is called object (binary) and
    where the model is unsure, in words that fit ``num_classes`` (1 sigmoid channel = binary)."""
    n = answer_numbers(labels, confidence)
    if num_classes <= 2:
        text = (
            f"{n['object']:.0%} of the pixels are called object. The model is unsure (p between "
            f"{1 - UNSURE_BELOW:.2f} and {UNSURE_BELOW:.2f}) on {n['unsure']:.0%} of all pixels"
        )
        if n["object"] > 0:
            text += f" and on {n['unsure_of_object']:.0%} of the object pixels"
        where = "the predicted mask's border"
    else:
        text = (
            f"Each pixel gets the most likely of the {num_classes} classes. The model is unsure (the "
            f"chosen class has probability below {UNSURE_BELOW:.2f}) on {n['unsure']:.0%} of the pixels"
        )
        where = "a boundary between predicted classes"
    if n["unsure"] > 0:
        text += f"; {n['unsure_near_border']:.0%} of those unsure pixels lie within {BORDER_REACH} pixels of {where}"
    return text + "."


def confidence_caption(num_classes: int) -> str:
    """Caption of the confidence map (drawn from 0.5, blue, to 1, yellow)."""
    if num_classes <= 2:
        return "Confidence max(p, 1 − p) (blue 0.5 = unsure → yellow 1 = sure)"
    return (
        f"Confidence: probability of the chosen class (blue ≤ 0.5 → yellow 1; it can fall to 1/{num_classes})"
    )


def side_outputs_text(nested: bool, trained: bool, loss: str, heads: list[str]) -> str:
    """What the side outputs drawn on the Inside page are, for this run.

    ``nested``: a U-Net++ (heads on its top nodes X^{0,j}); ``trained``: the run's loss
    supervised the side heads (deep supervision); ``heads``: their names as the page shows them.
    """
    names = ", ".join(heads)
    if nested and trained:
        return (
            f"U-Net++ has a prediction head on each top node ({names}) besides the main head on "
            "$X^{0,L}$; each is the answer of a complete smaller U-Net inside the big one. This run's "
            "deep-supervision loss trained all of them, so each is a usable mask: compare how the "
            "answer sharpens as the sub-network deepens."
        )
    if nested:
        return (
            f"U-Net++ has a head on each top node ({names}), but this run was trained with `{loss}`, "
            "which supervises only the main head: these heads were never trained, so their masks are "
            "noise (see section 4)."
        )
    return (
        f"This run's deep-supervision loss (`{loss}`) trained side heads on the coarser decoder "
        f"stages ({names}); each predicts the mask from that stage's features, upsampled to full "
        "size. They only help training (predictions use the main head), and the coarser they are, "
        "the blurrier their mask."
    )
