"""Basics page (AppTest): runs clean, shows the instance mask, and its numbers agree with
independent computations (torch on the raw dataset, seglab.metrics.scores, the sigmoid by hand)."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from seglab.data import make_dataset  # noqa: E402
from seglab.metrics.scores import confusion_matrix, scores  # noqa: E402
from seglab.teach.basics import threshold, toy_logits  # noqa: E402
from tests.page_support import page_runner  # noqa: E402

SIZE = 96


run_page = page_runner("basics")


def metric(at: AppTest, start: str) -> str:
    return next(m.value for m in at.metric if m.label.startswith(start))


def slider(at: AppTest, key: str):
    return next(s for s in at.slider if s.key == key)


@pytest.fixture(scope="module")
def page() -> AppTest:
    return run_page()


def test_scene_shows_image_semantic_and_instance_masks(page: AppTest) -> None:
    captions = [c for image in page.image for c in image.captions]
    assert any(c.startswith("Instance mask") for c in captions), captions
    assert any(c.startswith("Semantic mask") for c in captions), captions


def test_counts_match_the_dataset(page: AppTest) -> None:
    ds = make_dataset("cells", size=SIZE, n=1, seed=0)
    instances, mask = ds.instances[0], ds.masks[0]
    assert int(metric(page, "Separate cells")) == torch.unique(instances[instances > 0]).numel()
    assert metric(page, "Cell pixels") == f"{(mask > 0).float().mean().item():.1%}"


def test_logit_probability_and_mask_agree(page: AppTest) -> None:
    z = float(metric(page, "Pixel ("))
    p = float(metric(page, "…its probability"))
    assert p == pytest.approx(1 / (1 + math.exp(-z)), abs=3e-3)
    t = slider(page, "t").value
    assert int(metric(page, "…its predicted class")) == int(p >= t)


def test_error_counts_match_seglab_metrics(page: AppTest) -> None:
    ds = make_dataset("cells", size=SIZE, n=1, seed=0)
    mask = ds.masks[0].numpy()
    noise, t = slider(page, "noise").value, slider(page, "t").value
    pred = threshold(1 / (1 + torch.exp(-torch.from_numpy(toy_logits(mask, noise=noise, seed=0)))).numpy(), t)
    cm = confusion_matrix(torch.from_numpy(pred), torch.from_numpy(mask), 2)
    assert int(metric(page, "Wrong pixels")) == int(cm[0, 1] + cm[1, 0])
    assert float(metric(page, "Foreground IoU")) == pytest.approx(scores(cm)["fg_iou"], abs=5e-4)


def test_threshold_changes_the_mask() -> None:
    at = run_page()
    before = metric(at, "Wrong pixels")
    slider(at, "t").set_value(0.2).run()
    assert not at.exception
    assert metric(at, "Wrong pixels") != before


def test_one_hot_channels_sum_to_one(page: AppTest) -> None:
    assert any("sums to 1." in m.value for m in page.markdown)


def test_url_round_trip() -> None:
    at = run_page(scene="4", row="10", col="20", t="0.3", ids="instance id")
    assert at.number_input(key="scene").value == 4
    assert slider(at, "row").value == 10
    assert slider(at, "col").value == 20
    assert slider(at, "t").value == 0.3
    assert at.radio(key="ids").value == "instance id"


def test_a_mangled_link_falls_back_to_the_defaults() -> None:
    plain = run_page()
    at = run_page(row="9999", col="-5", t="oops")
    assert slider(at, "row").value == slider(plain, "row").value
    assert slider(at, "col").value == slider(plain, "col").value
    assert slider(at, "t").value == 0.5


# ---- the helpers behind the page ------------------------------------------------------------


def test_one_hot_and_patch_describe_the_same_mask() -> None:
    import numpy as np

    from seglab.teach.basics import one_hot, patch_frame

    ds = make_dataset("aerial", size=32, n=1, seed=1)
    mask = ds.masks[0].numpy()
    stack = one_hot(mask, ds.num_classes)
    assert stack.shape == (ds.num_classes, 32, 32)
    assert (stack.sum(0) == 1).all()
    assert (stack.argmax(0) == mask).all()
    frame = patch_frame(mask, 5, 7, 4)
    assert len(frame) == 16
    for row in frame.itertuples():
        assert mask[row.row, row.col] == row.value
    assert set(frame["row"]) == {5, 6, 7, 8} and set(frame["col"]) == {7, 8, 9, 10}
    assert np.issubdtype(frame["value"].dtype, np.integer)


def test_sigmoid_and_softmax_are_stable_and_normalised() -> None:
    import numpy as np

    from seglab.teach.basics import sigmoid, softmax

    z = np.array([-1000.0, -2.0, 0.0, 2.0, 1000.0])
    p = sigmoid(z)
    assert np.isfinite(p).all()
    assert p[2] == 0.5 and p[0] == 0.0 and p[-1] == 1.0
    assert p[3] == pytest.approx(1 / (1 + math.exp(-2.0)))
    q = softmax(np.stack([z, -z, np.zeros_like(z)]), axis=0)
    assert np.allclose(q.sum(0), 1.0)
