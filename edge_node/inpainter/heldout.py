"""Held-out images of the content domains, the Telea reference, and the measurements
``aaas bench inpaint`` takes of a restoration."""

from __future__ import annotations

from typing import Any

import numpy as np

from aaas.images import DOMAIN_IMAGES, domain_image, random_mask

from ..fit.sweeps import Case

__all__ = ["CORE_METRICS", "USER_SIZE", "Case", "held_out_cases", "measure", "psnr_hole",
           "summarise", "telea"]

CORE_METRICS = ("dss", "haarpsi", "vif")
EXTRA_METRICS = ("tv", "brisque", "mdsi")
USER_SIZE = 64
"""The users' image side: held-out images are drawn at it, then resized like training's."""


def held_out_cases(domain: str, *, count: int, size: int, hole: float, seed: int) -> list[Case]:
    """*count* images of *domain* from a stream seeded by (seed, domain): never training's
    (which draws from ``default_rng(train_seed)``)."""
    from PIL import Image

    index = sorted(DOMAIN_IMAGES).index(domain)
    rng = np.random.default_rng((seed, 7919, index))
    cases: list[Case] = []
    for _ in range(count):
        img = domain_image(domain, rng, USER_SIZE)
        if size != USER_SIZE:
            img = np.asarray(Image.fromarray(img).resize((size, size), Image.Resampling.BICUBIC))
        cases.append(Case(name=f"{domain}-held-out-{len(cases)}", clean=img,
                          mask=random_mask(rng, size, fraction=hole)))
    return cases


def psnr_hole(restored: np.ndarray, clean: np.ndarray, mask: np.ndarray) -> float:
    """PSNR (dB) over the missing pixels only."""
    diff = restored[mask].astype(np.float64) - clean[mask].astype(np.float64)
    mse = float(np.mean(diff ** 2)) if diff.size else 0.0
    return 99.0 if mse == 0 else float(10 * np.log10(255.0 ** 2 / mse))


def _psnr(restored: np.ndarray, clean: np.ndarray) -> float:
    return psnr_hole(restored, clean, np.ones(clean.shape[:2], dtype=bool))


def measure(restored: list[np.ndarray], cases: list[Case], *,
            all_metrics: bool = False) -> list[dict[str, float]]:
    """Per image: DSS, HaarPSI, VIF and hole PSNR (+ TV, BRISQUE, MDSI, whole PSNR and
    HaarPSI of the hole's bounding box with *all_metrics*)."""
    from ..quality import evaluate

    clean = [c.clean for c in cases]
    names = CORE_METRICS + (EXTRA_METRICS if all_metrics else ())
    scores = evaluate(restored, names, references=clean)
    for s, r, c in zip(scores, restored, cases, strict=True):
        s["psnr_hole"] = psnr_hole(r, c.clean, c.mask)
        if all_metrics:
            s["psnr"] = _psnr(r, c.clean)
            ys, xs = np.nonzero(c.mask)
            box = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
            # HaarPSI of the hole's bounding box alone (DSS is NaN below ~32 px a side)
            crop = evaluate([np.ascontiguousarray(r[box])], ("haarpsi",),
                            references=[np.ascontiguousarray(c.clean[box])])[0]
            s["haarpsi_hole"] = crop["haarpsi"]
    return scores


def telea(case: Case, radius: int = 3) -> np.ndarray:
    """OpenCV's Telea inpainting of the case's hole (the classical reference)."""
    import cv2

    out = cv2.inpaint(case.damaged, case.mask.astype(np.uint8) * 255, radius, cv2.INPAINT_TELEA)
    return np.asarray(out, dtype=np.uint8)


def summarise(rows: list[dict[str, Any]]) -> dict[tuple[str, str, int], dict[str, float]]:
    """Mean of every metric per (model, domain, steps)."""
    groups: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["model"], r["domain"], r["steps"]), []).append(r)
    return {k: {m: float(np.mean([r[m] for r in g])) for m in g[0]
                if m not in ("model", "domain", "steps")} for k, g in groups.items()}
