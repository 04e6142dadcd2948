"""Adding a model is one file plus one registry line: a throwaway architecture registered at
test time shows up in the CLI help, on the Architectures page (selector, diagram, topic tabs)
and in the diagram with its own link kind's colour, not a generic grey link."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from seglab.cli.main import build_parser
from seglab.models import MODELS, create_model, list_models, model_graph, model_info
from seglab.models.link_kinds import LINK_KINDS, register_link_kind
from seglab.models.registry import register_model
from seglab.models.unet import UNet
from seglab.viz.arch_diagram import _DEFAULT_LINK, graph_to_dot, legend_items
from tests.page_support import page_runner

NAME, KIND, COLOUR = "throwaway_net", "bypass-add", "#123456"


@pytest.fixture
def throwaway() -> Iterator[str]:
    """Register the model (and the new way of carrying detail it uses); unregister afterwards."""
    register_link_kind(
        KIND,
        colour=COLOUR,
        line_style="bold",
        legend="bypass: encoder map added to the decoder",
        explanation=("Bypass: add, do not concatenate", "The encoder map is *added* to the decoder's."),
    )

    # --- this is all a new architecture file needs ---------------------------------------
    @register_model(
        NAME,
        title="Throwaway Net",
        summary="A U-Net whose skips are drawn as additive bypasses (a test fixture).",
        link_kind=KIND,
    )
    class ThrowawayNet(UNet):
        def graph(self) -> dict[str, Any]:
            graph = super().graph()
            graph["links"] = [{**lk, "kind": KIND} for lk in graph["links"]]
            return graph

    # ----------------------------------------------------------------------------------------
    try:
        yield NAME
    finally:
        MODELS._entries.pop(NAME, None)  # noqa: SLF001  (tests only: undo the registration)
        LINK_KINDS.pop(KIND, None)


def test_registry_and_model_work(throwaway: str) -> None:
    assert throwaway in list_models() and model_info(throwaway).link_kind == KIND
    assert model_info(throwaway).uses_aux
    model = create_model(throwaway, width=4, depth=2)
    assert {lk["kind"] for lk in model_graph(model)["links"]} == {KIND}


def test_cli_help_lists_it(throwaway: str) -> None:
    train = build_parser()._subparsers._group_actions[0].choices["train"]  # noqa: SLF001
    assert throwaway in train.format_help()


def test_diagram_draws_its_links_in_their_own_style(throwaway: str) -> None:
    graph = model_graph(create_model(throwaway, width=4, depth=2))
    dot = graph_to_dot(graph)
    assert f'color="{COLOUR}"' in dot and _DEFAULT_LINK[0] not in dot
    assert (COLOUR, "bold", "bypass: encoder map added to the decoder") in legend_items(graph)


def test_architectures_page_shows_it_with_its_topic(throwaway: str) -> None:
    at = page_runner("architectures", timeout=120)(model=throwaway, depth="2", width="8")
    assert at.selectbox(key="model").value == throwaway
    assert "Throwaway Net" in at.selectbox(key="model").options
    (chart,) = at.get("graphviz_chart")
    assert COLOUR in chart.proto.spec
    tabs = [t.label for t in at.tabs]
    assert "Bypass" in tabs
    texts = " ".join(c.value for c in at.caption)
    assert "Throwaway Net" in texts  # "Models here: Throwaway Net" under its topic
