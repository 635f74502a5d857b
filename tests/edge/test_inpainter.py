"""aaas train-inpainter, the shipped models (builtin:NAME) and what they restore."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from repaint_tiny import save_tiny_repaint

from aaas import ConfigError, EmulatedClock
from edge_node.backends.repaint import load_repaint_backend
from edge_node.backends.repaint_pipeline import SAMPLERS, inpaint_batch, load_repaint_model
from edge_node.inpainter import TrainConfig, train_inpainter
from edge_node.inpainter.bench import random_model
from edge_node.inpainter.heldout import held_out_cases, psnr_hole
from edge_node.models import shipped_models
from testbed.cli import main

pytestmark = pytest.mark.torch
ROOT = Path(__file__).resolve().parents[2]


def test_training_for_a_few_steps_gives_a_loadable_model_and_resumes(tmp_path: Path) -> None:
    out = tmp_path / "faces"
    cfg = TrainConfig(domain="faces", out=out, channels=(16, 32), batch_size=2, max_steps=2,
                      log_every=1, threads=1)
    first = train_inpainter(cfg)
    assert first.steps == 2 and np.isfinite(first.loss)
    assert [json.loads(line)["step"] for line in (out / "loss.jsonl").read_text().splitlines()
            ] == [1, 2]
    cfg.max_steps = 3
    assert train_inpainter(cfg).steps == 3  # resumed from checkpoint.pt, not from 0
    assert json.loads((out / "train.json").read_text())["steps"] == 3
    backend = load_repaint_backend(model=str(out), clock=EmulatedClock(scale=1.0), metrics=())
    assert (backend.eta, backend.jump_length, backend.jump_n_sample) == (1.0, 10, 2)
    m = backend.model
    cases = held_out_cases("faces", count=1, size=32, hole=0.25, seed=1)
    restored = inpaint_batch(m, [cases[0].damaged], [cases[0].mask], steps=2, seeds=[0])[0]
    assert restored.shape == (32, 32, 3)
    np.testing.assert_array_equal(restored[~cases[0].mask], cases[0].clean[~cases[0].mask])


def test_the_cli_trains_and_refuses_an_unknown_domain(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "places"
    assert main(["train-inpainter", "--domain", "places", "--out", str(out), "--max-steps", "1",
                 "--batch-size", "2", "--channels", "16,32", "--no-progress"]) == 0
    assert (out / "unet" / "config.json").is_file() and (out / "sampler.json").is_file()
    with pytest.raises(SystemExit):
        main(["train-inpainter", "--domain", "mars", "--out", str(out)])
    assert "invalid choice: 'mars'" in capsys.readouterr().err


def test_shipped_models_load_by_short_name() -> None:
    assert {"builtin:faces", "builtin:places"} <= set(shipped_models())
    m = load_repaint_model("builtin:faces", device="cpu")
    assert m.source == "builtin:faces" and m.sample_size == 32
    assert m.sampler == SAMPLERS["plateau"]
    card = json.loads((ROOT / "edge_node/models/faces/train.json").read_text())
    assert card["config"]["domain"] == "faces"


def test_an_unknown_short_name_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match=r"no shipped model 'builtin:mars'; shipped: "
                       r"builtin:faces, builtin:places"):
        load_repaint_model("builtin:mars", device="cpu")


def test_a_local_folder_still_loads_with_its_own_sampler(tmp_path: Path) -> None:
    folder = save_tiny_repaint(tmp_path / "tiny")
    assert load_repaint_model(str(folder), device="cpu").sampler == SAMPLERS["ddim"]
    backend = load_repaint_backend(model=str(folder), clock=EmulatedClock(scale=1.0),
                                   sampler="repaint", jump_n_sample=3, metrics=())
    assert (backend.eta, backend.jump_length, backend.jump_n_sample) == (1.0, 10, 3)
    with pytest.raises(ConfigError, match="unknown sampler"):
        load_repaint_backend(model=str(folder), clock=EmulatedClock(scale=1.0), sampler="x")


@pytest.mark.parametrize("domain", ["faces", "places"])
def test_the_shipped_model_restores_better_than_a_random_unet(domain: str,
                                                              tmp_path: Path) -> None:
    cases = held_out_cases(domain, count=2, size=32, hole=0.25, seed=1)

    def hole_psnr(model: str) -> float:
        m = load_repaint_model(model, device="cpu")
        out = inpaint_batch(m, [c.damaged for c in cases], [c.mask for c in cases], steps=10,
                            seeds=[0, 1], eta=1.0)
        return float(np.mean([psnr_hole(r, c.clean, c.mask) for r, c in zip(out, cases,
                                                                            strict=True)]))

    trained = hole_psnr(f"builtin:{domain}")
    random = hole_psnr(random_model(tmp_path / "random", f"builtin:{domain}"))
    assert trained > random + 3.0, (trained, random)


def test_list_models_prints_the_shipped_names() -> None:
    res = subprocess.run([sys.executable, "-m", "testbed.cli", "inpaint", "--list-models"],
                         capture_output=True, text=True, timeout=60, cwd=ROOT, check=False)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == shipped_models()
    assert "builtin:faces" in res.stdout.splitlines()


def test_a_scenario_names_a_shipped_model_and_gets_its_sampler() -> None:
    from aaas import parse_scenario
    from edge_node.backends.registry import BACKENDS

    scenario = parse_scenario({"name": "builtin", "asps": {"count": 2, "override": [
        {"index": 0, "backend": "repaint", "model": "builtin:places"}]}})
    spec = scenario.asps[0]
    backend = BACKENDS.get("repaint").factory(spec, scenario=scenario,
                                              clock=EmulatedClock(scale=1.0), device="cpu")
    assert backend.model.source == "builtin:places"
    assert (backend.eta, backend.jump_length, backend.jump_n_sample) == (1.0, 10, 2)
