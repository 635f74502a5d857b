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
3. LIVE's ``allmodel`` shipped with this package,
   ``edge_node/quality/data/brisque_live_allmodel`` (LIVE's permissive
   notice, provenance and sha256 in ``data/NOTICE`` beside it).

Only a broken install (the package data missing) leaves none, and then
:class:`BrisqueUnavailableError` says what to do.
"""

from __future__ import annotations

import os
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aaas import AaasError

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

    import torch

__all__ = [
    "BrisqueUnavailableError",
    "brisque_score",
    "find_brisque_weights",
    "load_libsvm_model",
    "shipped_model",
]

ENV = "AAAS_BRISQUE_WEIGHTS"
PIQ_FILE = "brisque_svm_weights.pt"
PIQ_URL = "https://github.com/photosynthesis-team/piq/releases/download/v0.4.0/brisque_svm_weights.pt"
GAMMA = 0.05
RHO = -153.591
"""LIVE's model constants, the same that piq hard-codes."""
SHIPPED_FILE = "brisque_live_allmodel"
SHIPPED_SHA256 = "7c8e239223d4ff930cbfad4bfbceb685dbf0977804794979d2a9ed54f5d8bf1f"
"""LIVE's ``allmodel``, byte for byte (see ``data/NOTICE``)."""

INSTALL_HINT = (
    "BRISQUE needs LIVE's SVM model and this machine has none: the copy shipped with\n"
    "the package ({shipped}) is missing, so the install is incomplete. Do one of:\n"
    "  * reinstall the project (pip install --force-reinstall --no-deps .) so its package\n"
    "    data, edge_node/quality/data/, is there again\n"
    f"  * copy piq's weights ({PIQ_URL}) to {{piq_cache}}\n"
    f"  * set {ENV}=/path/to/allmodel (LIBSVM text) or /path/to/{PIQ_FILE}"
)


class BrisqueUnavailableError(AaasError, RuntimeError):
    """No BRISQUE SVM model can be found without the network."""


def _piq_cache() -> Path:
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints" / PIQ_FILE


def _shipped_resource() -> Traversable:
    return resources.files("edge_node.quality").joinpath("data", SHIPPED_FILE)


def shipped_model() -> Path:
    """LIVE's ``allmodel`` shipped as package data (raises if the install lacks it)."""
    resource = _shipped_resource()
    # A regular install (wheel, editable, checkout) keeps package data as real
    # files; LIBSVM text is read with Path, so a zipped install would need an
    # extraction step this project does not ship in.
    if not isinstance(resource, Path) or not resource.is_file():
        raise BrisqueUnavailableError(INSTALL_HINT.format(shipped=resource, piq_cache=_piq_cache()))
    return resource


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
    return shipped_model()


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
