"""Running a backend over damaged images at several step counts, measuring a metric."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aaas import ConfigError
from aaas.images import domain_image, random_mask

from ..backends.base import InpaintBackend, InpaintJob

__all__ = ["Case", "Measurement", "generated_cases", "load_cases", "sweep"]

log = logging.getLogger("aaas.edge.fit")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


@dataclass(frozen=True, kw_only=True)
class Case:
    """A clean image and the hole to restore."""

    name: str
    clean: np.ndarray
    """H×W×3 uint8 original (the reference of full-reference metrics)."""
    mask: np.ndarray
    """H×W bool, True where pixels are missing."""

    @property
    def damaged(self) -> np.ndarray:
        img = self.clean.copy()
        img[self.mask] = 0
        return img


@dataclass(frozen=True, kw_only=True)
class Measurement:
    """One restored image: its steps, metric value and measured runtime."""

    case: str
    steps: int
    value: float
    """The metric of the restored image."""
    runtime_s: float
    """Emulated seconds the backend reported."""


def generated_cases(rng: np.random.Generator, *, count: int, size: int,
                    hole: float = 0.25, domain: str = "generic") -> list[Case]:
    """Procedural images of *domain*'s family with rectangular holes (the emulated
    users' kind)."""
    return [Case(name=f"{domain}-{i}", clean=domain_image(domain, rng, size),
                 mask=random_mask(rng, size, fraction=hole)) for i in range(count)]


def load_cases(folder: Path, rng: np.random.Generator, *, hole: float = 0.25) -> list[Case]:
    """Clean images from *folder*; ``NAME_mask.png`` beside one is its mask
    (white = missing), otherwise a random rectangular hole is drawn."""
    from PIL import Image

    if not folder.is_dir():
        raise ConfigError(f"image folder {folder} does not exist")
    files = sorted(p for p in folder.iterdir()
                   if p.suffix.lower() in IMAGE_SUFFIXES and not p.stem.endswith("_mask"))
    if not files:
        raise ConfigError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {folder}")
    cases = []
    for p in files:
        clean = np.asarray(Image.open(p).convert("RGB"), dtype=np.uint8)
        mask_file = p.with_name(p.stem + "_mask.png")
        if mask_file.exists():
            mask = np.asarray(Image.open(mask_file).convert("L")) > 127
            if mask.shape != clean.shape[:2]:
                raise ConfigError(f"{mask_file} is {mask.shape}, its image {clean.shape[:2]}")
        else:
            mask = _hole(rng, clean.shape[:2], hole)
        cases.append(Case(name=p.stem, clean=clean, mask=mask))
    return cases


def _hole(rng: np.random.Generator, hw: tuple[int, ...], fraction: float) -> np.ndarray:
    h, w = hw
    side_h, side_w = max(1, round(h * fraction**0.5)), max(1, round(w * fraction**0.5))
    y0, x0 = int(rng.integers(0, h - side_h + 1)), int(rng.integers(0, w - side_w + 1))
    mask = np.zeros((h, w), dtype=bool)
    mask[y0:y0 + side_h, x0:x0 + side_w] = True
    return mask


async def sweep(backend: InpaintBackend, cases: list[Case], steps_list: list[int],
                metric: str) -> list[Measurement]:
    """Restore every case at every step count, one task at a time (so each
    runtime is a task's alone), and measure *metric* of each result."""
    from ..quality import METRICS, evaluate

    if metric not in METRICS:
        raise ConfigError(f"unknown metric {metric!r} (known: {sorted(METRICS)})")
    full = METRICS[metric].needs_reference
    out = []
    for steps in steps_list:
        for case in cases:
            job = InpaintJob(task_id=f"{case.name}@{steps}", steps=steps, image=case.damaged,
                             mask=case.mask)
            res = await backend.run(job)
            ref = [case.clean] if full else None
            value = evaluate([res.image], [metric], references=ref)[0][metric]
            out.append(Measurement(case=case.name, steps=steps, value=value,
                                   runtime_s=res.runtime_s))
        log.info("t=%d: %s mean %.4f", steps, metric,
                 np.mean([m.value for m in out if m.steps == steps]))
    return out
