"""Architectures page with the torchvision-layout encoders picked from the model's options."""

from __future__ import annotations

import pytest

from seglab.models import create_model, describe_model
from tests.page_support import page_runner

run_page = page_runner("architectures", timeout=120)


@pytest.mark.parametrize(("name", "encoder"), [("fcn", "vgg16"), ("fpn", "mobilenet_v2")])
def test_pretrained_layout_encoder_renders(name: str, encoder: str) -> None:
    page = run_page(model=name)
    page.selectbox(key="opt_encoder").set_value(encoder)
    page.run()
    assert not page.exception, [e.value for e in page.exception]
    expected = describe_model(create_model(name, encoder=encoder), 64)
    table = page.dataframe[0].value
    assert int(table["parameters"].sum()) == sum(layer["params"] for layer in expected.layers)
    assert any(str(layer).startswith("encoder.features.") for layer in table["layer"])
    assert page.get("graphviz_chart"), "no diagram drawn"
