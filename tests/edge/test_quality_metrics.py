"""The piq metrics: ideal scores for identical images, worse ones for degraded images,
and an offline BRISQUE that gives piq's own numbers."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from aaas import ConfigError
from aaas.images import synthetic_image
from edge_node.quality import (
    METRICS,
    BrisqueUnavailableError,
    brisque_score,
    evaluate,
    find_brisque_weights,
    parse_metrics,
    to_tensor,
)

pytestmark = pytest.mark.torch

FULL = [n for n, m in METRICS.items() if m.needs_reference]


def _pair(seed: int = 0, size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    clean = synthetic_image(rng, size)
    noisy = np.clip(clean + rng.normal(0, 30, clean.shape), 0, 255).astype(np.uint8)
    return clean, noisy


@pytest.mark.parametrize("size", [32, 64])
def test_full_reference_metrics_ideal_for_identical_and_worse_for_degraded(size: int) -> None:
    clean, noisy = _pair(size=size)
    same, degraded = evaluate([clean, noisy], FULL, references=[clean, clean])
    for name in FULL:
        m = METRICS[name]
        assert same[name] == pytest.approx(m.ideal, abs=1e-4), name
        worse = degraded[name] < same[name] if m.higher_is_better else degraded[name] > same[name]
        assert worse, (name, same[name], degraded[name])


def test_tv_rises_with_noise() -> None:
    clean, noisy = _pair(1)
    a, b = evaluate([clean, noisy], ["tv"])
    assert METRICS["tv"].higher_is_better is False
    assert 0 <= a["tv"] < b["tv"] <= 1


def test_brisque_rises_with_noise_when_the_model_is_installed() -> None:
    try:
        find_brisque_weights()
    except BrisqueUnavailableError as exc:
        pytest.skip(f"no offline BRISQUE model here: {exc}")
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(2)
    # BRISQUE models natural scenes: give the flat synthetic image a 1/f-like texture
    tex = sum(gaussian_filter(rng.normal(0, 1, (96, 96, 3)), (s, s, 0)) * s for s in (1, 2, 4, 8))
    clean = np.clip(synthetic_image(rng, 96) + 12 * tex, 0, 255).astype(np.uint8)
    noisy = np.clip(clean + rng.normal(0, 30, clean.shape), 0, 255).astype(np.uint8)
    blurred = gaussian_filter(clean, (2, 2, 0))
    a, b, c = evaluate([clean, noisy, blurred], ["brisque"])
    assert a["brisque"] + 5 < b["brisque"]
    assert a["brisque"] + 5 < c["brisque"]


def _write_libsvm(path: Path, rng: np.random.Generator,
                  n: int = 25) -> tuple[np.ndarray, np.ndarray]:
    coef = rng.normal(0, 20, n)
    sv = rng.uniform(-1, 1, (n, 36))
    lines = ["svm_type epsilon_svr", "kernel_type rbf", "gamma 0.05", "nr_class 2",
             f"total_sv {n}", "rho -153.591", "SV"]
    for c, row in zip(coef, sv, strict=True):
        lines.append(f"{c:.6f} " + " ".join(f"{i + 1}:{v:.6f}" for i, v in enumerate(row)))
    path.write_text("\n".join(lines) + "\n")
    return coef, sv


def test_offline_brisque_equals_piq_with_the_same_model(tmp_path: Path) -> None:
    import piq
    import torch

    coef, sv = _write_libsvm(tmp_path / "allmodel", np.random.default_rng(3))
    hub = tmp_path / "hub"
    (hub / "checkpoints").mkdir(parents=True)
    # piq's own file format, in a private hub dir, so piq never goes online
    torch.save((torch.tensor(coef, dtype=torch.float32), torch.tensor(sv, dtype=torch.float32)),
               hub / "checkpoints" / "brisque_svm_weights.pt")
    rng = np.random.default_rng(4)
    x = to_tensor([synthetic_image(rng, 64) for _ in range(3)])
    old = torch.hub.get_dir()
    torch.hub.set_dir(str(hub))
    try:
        expected = piq.brisque(x, reduction="none")
    finally:
        torch.hub.set_dir(old)
    for weights in (tmp_path / "allmodel", hub / "checkpoints" / "brisque_svm_weights.pt"):
        got = brisque_score(x, weights=weights)
        np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-4, atol=1e-3)


def test_missing_brisque_model_says_what_to_install(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    monkeypatch.setenv("AAAS_BRISQUE_WEIGHTS", str(tmp_path / "nope"))
    with pytest.raises(BrisqueUnavailableError, match="not a file"):
        find_brisque_weights()
    (tmp_path / "bad").write_text("svm_type epsilon_svr\nkernel_type linear\nSV\n")
    monkeypatch.setenv("AAAS_BRISQUE_WEIGHTS", str(tmp_path / "bad"))
    with pytest.raises(BrisqueUnavailableError, match="rbf"):
        brisque_score(to_tensor([synthetic_image(np.random.default_rng(0), 32)]))


def test_parse_metrics() -> None:
    assert parse_metrics("all") == tuple(METRICS)
    assert parse_metrics("all", have_reference=False) == ("tv", "brisque")
    assert parse_metrics("dss, vif") == ("dss", "vif")
    with pytest.raises(ConfigError, match="unknown"):
        parse_metrics("psnr")
    with pytest.raises(ConfigError, match="reference"):
        parse_metrics("dss", have_reference=False)
    with pytest.raises(ConfigError):
        evaluate([np.zeros((8, 8), np.uint8)], ["tv"])



LIVE_MODEL_SHA256 = "7c8e239223d4ff930cbfad4bfbceb685dbf0977804794979d2a9ed54f5d8bf1f"


@contextmanager
def _torch_hub(folder: Path) -> Iterator[None]:
    import torch

    old = torch.hub.get_dir()
    torch.hub.set_dir(str(folder))
    try:
        yield
    finally:
        torch.hub.set_dir(old)


def test_shipped_brisque_model_is_lives_allmodel_byte_for_byte() -> None:
    from edge_node.quality.brisque import SHIPPED_SHA256, load_libsvm_model, shipped_model

    path = shipped_model()
    assert SHIPPED_SHA256 == LIVE_MODEL_SHA256
    assert hashlib.sha256(path.read_bytes()).hexdigest() == LIVE_MODEL_SHA256
    assert LIVE_MODEL_SHA256 in (path.parent / "NOTICE").read_text()  # documented beside it
    sv_coef, sv, gamma, rho = load_libsvm_model(path)
    assert (tuple(sv_coef.shape), tuple(sv.shape)) == ((774,), (774, 36))
    assert (gamma, rho) == (0.05, -153.591)


def test_shipped_brisque_model_is_found_offline_and_scores_like_piq(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import piq
    import torch

    from edge_node.quality.brisque import load_libsvm_model, shipped_model

    monkeypatch.delenv("AAAS_BRISQUE_WEIGHTS", raising=False)
    empty = tmp_path / "empty-hub"  # piq's cache holds nothing: only the shipped file is left
    empty.mkdir()
    rng = np.random.default_rng(5)
    x = to_tensor([synthetic_image(rng, 64) for _ in range(3)])
    with _torch_hub(empty):
        found = find_brisque_weights()
        got = brisque_score(x)  # no weights given: the lookup picks the shipped file
    assert found == shipped_model()
    # piq itself with the same weights, converted to its own file format
    sv_coef, sv, _, _ = load_libsvm_model(found)
    hub = tmp_path / "hub"
    (hub / "checkpoints").mkdir(parents=True)
    torch.save((sv_coef.float(), sv.float()), hub / "checkpoints" / "brisque_svm_weights.pt")
    with _torch_hub(hub):
        expected = piq.brisque(x, reduction="none")
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-4, atol=1e-3)


def test_without_the_shipped_model_brisque_says_what_to_do(monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    from edge_node.quality import brisque

    monkeypatch.delenv("AAAS_BRISQUE_WEIGHTS", raising=False)
    monkeypatch.setattr(brisque, "SHIPPED_FILE", "not-installed")  # an incomplete install
    with _torch_hub(tmp_path), pytest.raises(BrisqueUnavailableError) as caught:
        find_brisque_weights()
    message = str(caught.value)
    assert "not-installed" in message and "reinstall" in message
    assert "AAAS_BRISQUE_WEIGHTS" in message and str(tmp_path) in message
