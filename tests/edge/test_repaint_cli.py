"""The researcher tools end to end: aaas inpaint, aaas quality, aaas fit-quality."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from repaint_tiny import save_tiny_repaint

from aaas import parse_scenario
from aaas.images import random_mask, synthetic_image
from testbed.cli import main

pytestmark = pytest.mark.torch


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_repaint(tmp_path_factory.mktemp("tiny-repaint-cli"))


@pytest.fixture
def damaged(tmp_path: Path) -> tuple[Path, Path, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    image, mask = synthetic_image(rng, 48), random_mask(rng, 48)
    Image.fromarray(image).save(tmp_path / "img.png")
    Image.fromarray(mask.astype(np.uint8) * 255).save(tmp_path / "mask.png")
    return tmp_path / "img.png", tmp_path / "mask.png", image, mask


def test_inpaint_then_quality(tmp_path: Path, tiny_model_dir: Path,
                              damaged: tuple[Path, Path, np.ndarray, np.ndarray]) -> None:
    img_path, mask_path, image, mask = damaged
    out = tmp_path / "restored.png"
    code = main(["inpaint", "--model", str(tiny_model_dir), "--image", str(img_path),
                 "--mask", str(mask_path), "--steps", "6", "--out", str(out),
                 "--json", str(tmp_path / "inpaint.json")])
    assert code == 0
    restored = np.asarray(Image.open(out).convert("RGB"))
    assert restored.shape == image.shape
    np.testing.assert_array_equal(restored[~mask], image[~mask])
    info = json.loads((tmp_path / "inpaint.json").read_text())
    assert info["unet_calls"] == 6
    assert info["runtime_s"] > 0
    assert "tv" in info["metrics"]

    code = main(["quality", "--image", str(out), "--reference", str(img_path),
                 "--metrics", "dss,mdsi,tv", "--json", str(tmp_path / "q.json")])
    assert code == 0
    scores = json.loads((tmp_path / "q.json").read_text())["metrics"]
    assert set(scores) == {"dss", "mdsi", "tv"}
    assert scores["dss"] < 1.0
    assert scores["mdsi"] > 0.0


def test_bad_inputs_exit_with_code_2(tmp_path: Path, tiny_model_dir: Path,
                                     damaged: tuple[Path, Path, np.ndarray, np.ndarray]) -> None:
    img_path, _mask, _i, _m = damaged
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(tmp_path / "small_mask.png")
    assert main(["inpaint", "--model", str(tiny_model_dir), "--image", str(img_path),
                 "--mask", str(tmp_path / "small_mask.png"), "--steps", "3",
                 "--out", str(tmp_path / "o.png")]) == 2
    assert main(["quality", "--image", str(img_path), "--metrics", "dss"]) == 2
    assert main(["quality", "--image", str(tmp_path / "missing.png")]) == 2


def test_fit_quality_writes_a_loadable_override(tmp_path: Path, tiny_model_dir: Path) -> None:
    out = tmp_path / "fit"
    code = main(["fit-quality", "--model", str(tiny_model_dir), "--steps", "2,4,8",
                 "--count", "2", "--size", "32", "--metric", "mdsi", "--out-dir", str(out),
                 "--time-scale", "60"])
    assert code == 0
    override = json.loads((out / "asp_override.json").read_text())
    assert set(override) == {"index", "ax", "ay", "bx", "by", "backend", "model"}
    scenario = parse_scenario({"seed": 0, "asps": {"count": 1, "override": [override]}})
    assert scenario.asps[0].backend == "repaint"
    assert set(json.loads((out / "runtime.json").read_text())) == {"a", "b", "c", "unit_s"}
    fit = json.loads((out / "fit.json").read_text())
    assert len(fit["measurements"]) == 6
    assert fit["worst"] > fit["best"]
    assert (out / "fit.png").read_bytes()[:4] == b"\x89PNG"
