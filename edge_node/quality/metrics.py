"""The paper's image-quality metrics (piq), on H×W×3 uint8 numpy images.

| metric  | reference | better | ideal (identical) | range (typical) |
|---------|-----------|--------|-------------------|-----------------|
| tv      | no        | lower  | —                 | 0 … ~0.3        |
| brisque | no        | lower  | —                 | 0 … ~100+       |
| dss     | yes       | higher | 1                 | 0 … 1           |
| haarpsi | yes       | higher | 1                 | 0 … 1           |
| mdsi    | yes       | lower  | 0                 | 0 … ~0.6        |
| vif     | yes       | higher | 1                 | 0 … ~1 (>1: contrast gain) |

``tv`` is piq's anisotropic (L1) total variation divided by the number of
values: the mean absolute difference between neighbouring pixels on a 0–1
scale. It measures noise and roughness, not fidelity: a restored image that
is still noisy (too few steps) has a high TV.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from aaas import ConfigError

if TYPE_CHECKING:
    import torch

__all__ = ["METRICS", "Metric", "evaluate", "parse_metrics", "to_tensor"]

VIF_MIN_SIDE = 41
"""piq's VIF needs images of at least 41×41; smaller ones are upscaled first."""


@dataclass(frozen=True, kw_only=True)
class Metric:
    """One quality metric and which way it moves with quality."""

    name: str
    needs_reference: bool
    """Full-reference metrics compare with the clean original."""
    higher_is_better: bool
    """True when the score rises as quality rises."""
    ideal: float | None
    """The score of an image compared with itself (None for no-reference)."""
    typical_range: tuple[float, float]
    """(worst, best) of typical scores, used to normalise a metric to 0…1."""
    compute: Callable[..., Any]
    """(x_B3HW, y_B3HW | None) -> tensor of B scores; inputs on a 0…1 scale."""


def _tv(x: torch.Tensor, _y: torch.Tensor | None) -> torch.Tensor:
    import piq

    return piq.total_variation(x, reduction="none", norm_type="l1") / x[0].numel()


def _brisque(x: torch.Tensor, _y: torch.Tensor | None) -> torch.Tensor:
    from .brisque import brisque_score

    return brisque_score(x)


def _full(name: str) -> Callable[..., Any]:
    def compute(x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        import piq

        if y is None:
            raise ConfigError(f"metric {name} needs a reference image")
        if name == "vif" and min(x.shape[-2:]) < VIF_MIN_SIDE:
            x, y = _upscale(x, VIF_MIN_SIDE), _upscale(y, VIF_MIN_SIDE)
        fn = {"dss": piq.dss, "haarpsi": piq.haarpsi, "mdsi": piq.mdsi, "vif": piq.vif_p}[name]
        return fn(x, y, data_range=1.0, reduction="none")

    return compute


def _upscale(x: torch.Tensor, side: int) -> torch.Tensor:
    from torch.nn.functional import interpolate

    h, w = x.shape[-2:]
    k = side / min(h, w)
    size = (max(side, round(h * k)), max(side, round(w * k)))
    return interpolate(x, size=size, mode="bicubic", align_corners=False).clamp(0, 1)


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric(name="tv", needs_reference=False, higher_is_better=False, ideal=None,
               typical_range=(0.3, 0.0), compute=_tv),
        Metric(name="brisque", needs_reference=False, higher_is_better=False, ideal=None,
               typical_range=(100.0, 0.0), compute=_brisque),
        Metric(name="dss", needs_reference=True, higher_is_better=True, ideal=1.0,
               typical_range=(0.0, 1.0), compute=_full("dss")),
        Metric(name="haarpsi", needs_reference=True, higher_is_better=True, ideal=1.0,
               typical_range=(0.0, 1.0), compute=_full("haarpsi")),
        Metric(name="mdsi", needs_reference=True, higher_is_better=False, ideal=0.0,
               typical_range=(0.6, 0.0), compute=_full("mdsi")),
        Metric(name="vif", needs_reference=True, higher_is_better=True, ideal=1.0,
               typical_range=(0.0, 1.0), compute=_full("vif")),
    )
}
NO_REFERENCE = tuple(n for n, m in METRICS.items() if not m.needs_reference)


def parse_metrics(spec: str | Iterable[str], *, have_reference: bool = True) -> tuple[str, ...]:
    """Metric names from ``all``, ``no-reference`` or a comma list; validated."""
    names = [s.strip().lower() for s in spec.split(",")] if isinstance(spec, str) else list(spec)
    if names == ["all"]:
        names = [n for n, m in METRICS.items() if have_reference or not m.needs_reference]
    elif names in (["no-reference"], ["nr"]):
        names = list(NO_REFERENCE)
    unknown = [n for n in names if n not in METRICS]
    if unknown:
        raise ConfigError(f"unknown metric(s) {unknown}; known: {sorted(METRICS)}, "
                          "all, no-reference")
    if not have_reference:
        full = [n for n in names if METRICS[n].needs_reference]
        if full:
            raise ConfigError(f"metric(s) {full} need a reference image (--reference)")
    return tuple(dict.fromkeys(names))


def to_tensor(images: Iterable[np.ndarray]) -> torch.Tensor:
    """B×3×H×W float32 on a 0…1 scale from H×W×3 uint8 images (same size)."""
    import torch

    arrays = [np.asarray(i) for i in images]
    for a in arrays:
        if a.ndim != 3 or a.shape[2] != 3 or a.dtype != np.uint8:
            raise ConfigError(f"expected H×W×3 uint8 images, got {a.shape} {a.dtype}")
    batch = np.stack(arrays).astype(np.float32) / 255.0
    return torch.from_numpy(batch).permute(0, 3, 1, 2).contiguous()


def evaluate(images: list[np.ndarray], names: Iterable[str],
             references: list[np.ndarray] | None = None) -> list[dict[str, float]]:
    """Scores of each image: one ``{metric: value}`` per image."""
    import torch

    names = tuple(names)
    x = to_tensor(images)
    y = None if references is None else to_tensor(references)
    if y is not None and y.shape != x.shape:
        raise ConfigError(f"reference shape {tuple(y.shape)} differs from image {tuple(x.shape)}")
    out: list[dict[str, float]] = [{} for _ in images]
    with torch.no_grad():
        for name in names:
            scores = METRICS[name].compute(x, y).reshape(-1)
            for i, s in enumerate(scores.tolist()):
                out[i][name] = float(s)
    return out
