"""Architectures page: every registered model can be selected, drawn and tabulated."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from seglab.models import create_model, describe_model, list_models, model_graph, model_info
from seglab.viz.arch_diagram import graph_to_dot, legend_items
from tests.page_support import page_runner

run_page = page_runner("architectures", timeout=120)


@pytest.fixture(scope="module")
def page() -> AppTest:
    return run_page()


@pytest.mark.parametrize("name", list_models())
def test_every_model_can_be_selected_and_renders_its_table(page: AppTest, name: str) -> None:
    page.selectbox(key="model").set_value(name)
    page.run()
    assert not page.exception, [e.value for e in page.exception]
    width, depth, size = page.select_slider(key="width").value, page.slider(key="depth").value, 64
    expected = describe_model(create_model(name, width=width, depth=depth), size)
    table = page.dataframe[0].value
    assert len(table) == len(expected.layers)
    assert int(table["parameters"].sum()) == sum(layer["params"] for layer in expected.layers)
    assert list(table["layer"]) == [layer["name"] for layer in expected.layers]
    assert page.get("graphviz_chart"), "no diagram drawn"


def test_url_selects_model_and_size() -> None:
    # A bound select box carries the option as shown (its title) in the URL.
    at = run_page(model=model_info("fcn").title, depth="2", width="8")
    assert at.selectbox(key="model").value == "fcn"
    assert at.slider(key="depth").value == 2
    assert at.select_slider(key="width").value == 8


@pytest.mark.parametrize("name", list_models())
def test_diagram_has_every_node_and_link(name: str) -> None:
    graph = model_graph(create_model(name, width=8, depth=3))
    dot = graph_to_dot(graph)
    assert dot.startswith("digraph") and dot.rstrip().endswith("}")
    for node in graph["nodes"]:
        assert f'"{node["id"]}"' in dot
    for link in graph["links"]:
        assert f'"{link["from"]}" -> "{link["to"]}"' in dot
    assert legend_items(graph)
