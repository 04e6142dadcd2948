"""What a slider move on the labs sends back, on the real server (issue 22: a class of 30 on one
machine). A move must rerun only the part of the page that depends on the slider, carry its
pictures inside the message, and show the library's numbers. Speed itself is measured by
``benchmarks/bench_load.py``; these tests keep the structure that makes it fast."""

from __future__ import annotations

import pytest
import torch

from seglab.metrics.scores import confusion_matrix, scores
from seglab.teach import basics as B
from seglab.teach import loss_lab as T
from seglab.teach import metrics_lab as ml
from tests.browser_support import streamlit_server
from tests.socket_session import Reply, SocketSession

DATA_URL = "data:image/png;base64,"


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory):
    from seglab.store.reference import load_reference_study

    home = tmp_path_factory.mktemp("home")
    load_reference_study(home)  # runs with weights, for Inside
    with streamlit_server(home) as url:
        yield url


def headings(reply: Reply) -> list[str]:
    return [h.body for h in reply.of_type("heading")]


def metric(reply: Reply, label: str) -> str:
    values = [m.body for m in reply.of_type("metric") if m.label == label]
    assert len(values) == 1, f"{label!r}: {values}"
    return values[0]


def picture_urls(reply: Reply) -> list[str]:
    return [img.url for imgs in reply.of_type("imgs") for img in imgs.imgs]


def test_metrics_lab_shift_move_resends_sections_one_and_two_only(app_url: str) -> None:
    session = SocketSession(app_url, "metrics_lab")
    load = session.run()
    assert headings(load)[-1].startswith("3 ·")  # the page load has section 3
    reply = session.move("Shift prediction right (pixels)", 7)
    session.close()
    assert [h.split(" · ")[0] for h in headings(reply) if " · " in h] == ["1", "2"]
    assert len(reply.elements) + reply.blocks < (len(load.elements) + load.blocks) * 0.7
    _, target, pred = ml.lab_masks(0, ml.PredictionSettings(shift_x=7))
    expected = ml.binary_report(pred, target)["iou"]
    assert metric(reply, "IoU") == f"{expected:.3f}"
    urls = picture_urls(reply)
    assert len(urls) == 4 and all(url.startswith(DATA_URL) for url in urls)


def test_metrics_lab_tab_move_resends_its_tab_only(app_url: str) -> None:
    session = SocketSession(app_url, "metrics_lab")
    session.run()
    reply = session.move("Object size (% of the image)", 5.0)
    session.close()
    assert headings(reply) == []
    assert metric(reply, "Pixel accuracy") == f"{ml.paradox_report(5.0)['accuracy']:.1%}"
    assert len(reply.of_type("slider")) == 1  # its own slider, none of section 1's six


def test_loss_lab_gamma_move_resends_sections_two_to_six_only(app_url: str) -> None:
    session = SocketSession(app_url, "loss_lab")
    load = session.run()
    reply = session.move("Focal γ (gamma)", 3.0)
    session.close()
    titles = [h.split(".")[0] for h in headings(reply) if h[:1].isdigit()]
    assert titles == ["2", "3", "4", "5", "6"]  # not the catalogue (1) nor predict-then-reveal (7)
    assert len(reply.elements) < len(load.elements)
    focal = T.focal_at(0.9, 0.25, 3.0)["focal"]
    assert metric(reply, "Focal loss at p = 0.9 (easy)") == f"{focal:.4f}"
    urls = picture_urls(reply)
    assert len(urls) >= 5 and all(url.startswith(DATA_URL) for url in urls)


def test_basics_threshold_move_resends_section_five_only(app_url: str) -> None:
    session = SocketSession(app_url, "basics")
    load = session.run()
    reply = session.move("Threshold t", 0.3)
    session.close()
    assert [h.split(".")[0] for h in headings(reply) if h[:1].isdigit()] == ["5"]
    assert len(reply.elements) < len(load.elements) / 2
    mask = B.load_scene("cells", size=96, seed=0).mask
    pred = B.threshold(B.sigmoid(B.toy_logits(mask, noise=0.4, seed=0)), 0.3)
    cm = confusion_matrix(torch.from_numpy(pred), torch.from_numpy(mask), 2)
    assert metric(reply, "Wrong pixels (FP + FN)") == str(int(cm[0, 1] + cm[1, 0]))
    assert metric(reply, "Foreground IoU") == f"{scores(cm)['fg_iou']:.3f}"
    assert all(url.startswith(DATA_URL) for url in picture_urls(reply))


def test_basics_window_move_resends_section_two_only(app_url: str) -> None:
    session = SocketSession(app_url, "basics")
    session.run()
    reply = session.move("Window: top row", 3)
    session.close()
    assert [h.split(".")[0] for h in headings(reply)] == ["2"]
    assert len(reply.of_type("vega_lite_chart")) == 1  # the window's ids, not sections 3–5's charts


def test_architectures_depth_move_resends_the_model_part_only(app_url: str) -> None:
    from seglab.teach import architectures as arch

    session = SocketSession(app_url, "architectures")
    load = session.run()
    reply = session.move("Depth (times the image is halved)", 4)
    session.close()
    assert "Six ways to bring the detail back" in headings(load)
    assert "Six ways to bring the detail back" not in headings(reply)
    layers, _, _ = arch.layer_table("unet", 16, 4, 64)
    assert metric(reply, "Parameters used") == arch.human_count(int(layers["parameters"].sum()))


def test_inside_threshold_and_channel_moves_resend_their_section_only(app_url: str) -> None:
    session = SocketSession(app_url, "inside")
    load = session.run()
    assert [h.split(" · ")[0] for h in headings(load) if " · " in h][:3] == ["1", "2", "3"]
    threshold = session.move("Threshold: object if p ≥", 0.3)
    assert [h.split(" · ")[0] for h in headings(threshold)] == ["2"]
    assert any(
        "threshold 0.30" in c for imgs in threshold.of_type("imgs") for c in [i.caption for i in imgs.imgs]
    )
    channels = session.move("Strongest channels shown per stage", 4)
    session.close()
    assert [h.split(" · ")[0] for h in headings(channels) if " · " in h] == ["3"]
    assert all(url.startswith(DATA_URL) for url in picture_urls(threshold) + picture_urls(channels))
