"""What a model shows when you look inside: its named feature stages and side outputs.

Every architecture lists its own stages (`SegModel.feature_stages`), so the "Inside" page and
`seglab.inspect.feature_maps` never need to know how a network is wired. A stage names one
sub-module whose output (or, for a few stages, whose input) is the feature map to show:

* ``name``: what the teaching material calls it ("enc2", "bottleneck", "dec1", "X^{0,2}", "P3");
* ``module``: the dotted path inside the model (``model.get_submodule(module)``);
* ``kind``: encoder | bottleneck | decoder | unpool | node | score | pyramid | merge;
* ``level``: the map is ``1/2**level`` of the (padded) input per side;
* ``channels``: how many feature maps the stage produces;
* ``skips``: names of earlier stages that reach this one through a skip-style connection
  (concatenated copy, pooling indices, nested skip, lateral 1×1, score fusion);
* ``capture``: "output" (usual) or "input" (the tensor going *into* the module, e.g. SegNet's
  sparse un-pooled map or FPN's merged pyramid);
* ``note``: one plain sentence on what happens there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

STAGE_KINDS = ("encoder", "bottleneck", "decoder", "unpool", "node", "score", "pyramid", "merge")


@dataclass(frozen=True)
class FeatureStage:
    """One named place inside a network whose feature map can be shown (see module doc)."""

    name: str
    module: str
    kind: str
    level: int
    channels: int
    skips: tuple[str, ...] = ()
    capture: str = "output"
    note: str = ""

    def __post_init__(self) -> None:
        if self.kind not in STAGE_KINDS:
            raise ValueError(f"stage kind {self.kind!r} is not one of {STAGE_KINDS}")
        if self.capture not in ("output", "input"):
            raise ValueError(f"capture must be 'output' or 'input', not {self.capture!r}")


def encoder_stages(
    depth: int, channels: Callable[[int], int], note: Callable[[int], str]
) -> list[FeatureStage]:
    """The ``enc1 … enc{depth}`` stages of a model whose encoder blocks are ``encoders.0 …``.

    ``channels(i)`` is block i's output width and ``note(i)`` its one-sentence description
    (architectures differ only in what happens after each block).
    """
    return [
        FeatureStage(f"enc{i + 1}", f"encoders.{i}", "encoder", i, channels(i), note=note(i))
        for i in range(depth)
    ]
