"""Transfer learning through TrainConfig: --encoder, --encoder-weights, --init-from, --freeze-encoder
reach the config, the engine applies them at setup, and refusals are plain."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from seglab.cli.main import build_parser, config_from_args, main
from seglab.errors import ConfigError
from seglab.models.transfer import encoder_prefixes
from seglab.settings.build import build_model
from seglab.settings.config import TrainConfig
from seglab.settings.presets import preset
from seglab.store.run_store import RunStore
from seglab.training.engine import train
from seglab.training.run import run_config


def parse(*argv: str) -> TrainConfig:
    return config_from_args(build_parser().parse_args(["train", "--preset", "smoke", *argv]))


def test_encoder_flags_reach_model_params_and_config(seglab_home):
    assert parse("--arch", "fcn", "--encoder", "vgg16").model_params == {"encoder": "vgg16"}
    config = parse("--arch", "fpn", "--encoder", "mobilenet_v2", "--model-param", "merge=concat")
    assert config.model_params == {"merge": "concat", "encoder": "mobilenet_v2"}
    assert parse("--freeze-encoder").freeze_encoder_epochs == -1
    assert parse("--freeze-encoder", "2").freeze_encoder_epochs == 2
    assert parse().freeze_encoder_epochs == 0 and parse().init_from is None


def test_unknown_run_and_missing_file_are_refused_plainly(seglab_home, capsys):
    with pytest.raises(ConfigError, match="no stored run 'nope'"):
        parse("--init-from", "nope")
    assert main(["train", "--preset", "smoke", "--encoder-weights", str(seglab_home / "x.pt")]) == 1
    err = capsys.readouterr().err
    assert "does not exist" in err and "Traceback" not in err


def test_encoder_weights_with_other_keys_are_refused_listing_differences(seglab_home, tmp_path, capsys):
    path = tmp_path / "wrong.pt"
    torch.save({"features.0.weight": torch.zeros(16, 3, 3, 3), "extra.weight": torch.zeros(2)}, path)
    argv = ["train", "--preset", "smoke", "--n", "12", "--arch", "fpn", "--encoder", "mobilenet_v2"]
    assert main([*argv, "--encoder-weights", str(path)]) == 1
    out = capsys.readouterr().out
    assert "status:     failed" in out
    assert "missing: features.0.0.weight" in out  # torchvision's first MobileNetV2 name
    assert "unexpected: features.0.weight, extra.weight" in out
    assert "Traceback" not in out


def test_encoder_weights_file_in_torchvision_layout_is_loaded(seglab_home, tmp_path):
    config = preset("smoke", arch="fpn", model_params={"encoder": "mobilenet_v2"}, n=12, epochs=1)
    donor = build_model(config, 2)
    torch.nn.init.normal_(donor.encoder.features[0][0].weight)  # recognisable weights
    path = tmp_path / "mobilenet_v2.pt"
    torch.save({**donor.encoder.state_dict(), "classifier.1.weight": torch.zeros(1000, 1280)}, path)
    out = run_config(
        config.replace(encoder_weights=str(path), freeze_encoder_epochs=-1, lr=0.01), home=seglab_home
    )
    assert out.status == "done", out.message
    best = RunStore(seglab_home).files(out.run_id).load_checkpoint("best")
    # frozen for the whole run: the loaded weights come out unchanged
    assert torch.equal(best["encoder.features.0.0.weight"], donor.encoder.features[0][0].weight.detach())


def _smoke(**changes):
    return preset("smoke", **({"n": 24, "epochs": 1, "lr": 0.01} | changes))


def test_init_from_copies_the_stored_runs_weights(seglab_home):
    source = run_config(_smoke(seed=1, epochs=2), home=seglab_home)
    assert source.status == "done"
    store = RunStore(seglab_home)
    source_state = store.files(source.run_id).load_checkpoint("best")
    # lr so small that one epoch cannot move a weight visibly: the start is what we see
    tiny = {"lr": 1e-12, "seed": 5}
    copied = run_config(_smoke(init_from=source.run_id, init_scope="all", **tiny), home=seglab_home)
    scratch = run_config(_smoke(**tiny), home=seglab_home)
    enc = run_config(_smoke(init_from=source.run_id, init_scope="encoder", **tiny), home=seglab_home)
    assert {copied.status, scratch.status, enc.status} == {"done"}
    got = store.files(copied.run_id).load_checkpoint("best")
    fresh = store.files(scratch.run_id).load_checkpoint("best")
    only_enc = store.files(enc.run_id).load_checkpoint("best")
    model = build_model(_smoke(), 2)
    prefixes = encoder_prefixes(model)
    weights = [n for n, p in model.named_parameters() if p.dim() > 1]
    assert any(n.startswith(prefixes) for n in weights) and any(not n.startswith(prefixes) for n in weights)
    for name in weights:
        assert torch.allclose(got[name], source_state[name], atol=1e-6), name
        assert not torch.allclose(fresh[name], source_state[name], atol=1e-3), name
        if name.startswith(prefixes):
            assert torch.allclose(only_enc[name], source_state[name], atol=1e-6), name
        else:
            assert torch.allclose(only_enc[name], fresh[name], atol=1e-6), name  # same seed, not copied
    assert store.load_run(copied.run_id).config.init_from == source.run_id  # shown in the run's config


def test_freeze_encoder_keeps_encoder_weights_fixed_for_the_first_epochs(tmp_path):
    config = preset("smoke", n=24, epochs=3, lr=0.01, freeze_encoder_epochs=2)
    torch.manual_seed(config.seed)
    initial = {k: v.clone() for k, v in build_model(config, 2).state_dict().items()}
    states: dict[int, dict[str, torch.Tensor]] = {}

    class Grab:
        def on_checkpoint(self, epoch: int, which: str, path: Path | None) -> None:
            if which == "last" and path is not None:
                states[epoch] = torch.load(path, weights_only=True)["model"]

    result = train(config, Grab(), run_dir=tmp_path / "run")
    assert result.ok, result.message
    model = build_model(config, 2)
    prefixes = encoder_prefixes(model)
    enc = [n for n, p in model.named_parameters() if n.startswith(prefixes)]
    dec = [n for n, p in model.named_parameters() if not n.startswith(prefixes)]
    for epoch in (1, 2):
        assert all(torch.equal(states[epoch][n], initial[n]) for n in enc), epoch
        assert any(not torch.equal(states[epoch][n], initial[n]) for n in dec), epoch
    assert any(not torch.equal(states[3][n], initial[n]) for n in enc)  # thawed in epoch 3
