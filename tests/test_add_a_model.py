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


# ---- transfer learning and the Inside page take capabilities from the model, not its name (issue 19)
def test_its_encoder_comes_from_the_model_itself(throwaway: str) -> None:
    from seglab.models.transfer import encoder_prefixes, freeze_encoder

    model = create_model(throwaway, width=4, depth=2)
    prefixes = encoder_prefixes(model)  # inherited from U-Net's declaration: no table to extend
    assert prefixes and any(name.startswith(prefixes) for name, _ in model.named_parameters())
    frozen = freeze_encoder(model)
    flags = {name.startswith(prefixes): p.requires_grad for name, p in model.named_parameters()}
    assert frozen > 0 and flags == {True: False, False: True}


def test_init_from_freeze_encoder_and_the_inside_page(throwaway: str, seglab_home, capsys) -> None:
    from seglab.cli.main import main
    from seglab.store.run_store import RunStore

    tiny = ["--preset", "smoke", "--arch", throwaway, "--loss", "bce", "--threads", "1", "--device", "cpu"]
    assert main(["train", *tiny]) == 0
    (source,) = RunStore(seglab_home).list_runs()
    assert main(["train", *tiny, "--init-from", source.id, "--freeze-encoder"]) == 0
    runs = {r.id: r for r in RunStore(seglab_home).list_runs()}
    (second,) = [r for r in runs.values() if r.id != source.id]
    assert second.status == "done" and second.config.init_from == source.id
    assert second.config.freeze_encoder_epochs == -1
    assert "Traceback" not in capsys.readouterr().err

    at = page_runner("inside", timeout=120)()
    at.selectbox(key="in_run").select(second.id).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(" channels of " in m.value for m in at.markdown)  # its stages are shown
    assert not any("Prune" in h.value for h in at.header)  # not prunable: no pruning section


def test_a_model_without_a_declared_encoder_is_refused_in_plain_words() -> None:
    from torch import nn

    from seglab.models.base import SegModel, WeightsError
    from seglab.models.transfer import freeze_encoder

    class Bare(SegModel):
        arch = "bare"

        def __init__(self) -> None:
            nn.Module.__init__(self)
            self.conv = nn.Conv2d(3, 1, 1)

    with pytest.raises(WeightsError, match="does not say which layers form its encoder"):
        freeze_encoder(Bare())


def test_inside_page_offers_pruning_by_capability(throwaway: str) -> None:
    assert model_info("unetpp").prunable and not model_info("unet").prunable
    assert not model_info(throwaway).prunable  # a U-Net subclass cannot be pruned

    @register_model(
        "prunable_net", title="Prunable Net", summary="A U-Net++ by another name.", link_kind="nested-skip"
    )
    class PrunableNet(MODELS.get("unetpp").cls):  # type: ignore[misc, valid-type]
        pass

    try:
        assert model_info("prunable_net").prunable
    finally:
        MODELS._entries.pop("prunable_net", None)  # noqa: SLF001
