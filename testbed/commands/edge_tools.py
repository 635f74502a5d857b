"""Researcher tools: ``aaas inpaint``, ``aaas quality`` and ``aaas fit-quality``.

Light on purpose: only the options live here; torch, diffusers and piq are
imported by :mod:`edge_node.tools` when a command runs.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from aaas.images import DOMAIN_IMAGES
from testbed.options import Subparsers, steps_list


def _model_options(p: argparse.ArgumentParser, *, required: bool = True) -> None:
    p.add_argument("--model", required=required, metavar="DIR|HUB_ID|builtin:NAME",
                   help="RePaint-capable diffusers UNet2DModel: a shipped model (builtin:faces, "
                   "builtin:places; see inpaint --list-models), a local folder (unet/ + "
                   "scheduler/, or a bare UNet) or a hub id like google/ddpm-ema-celebahq-256")
    p.add_argument("--device", default=None,
                   help="torch device (default: cuda if available, else cpu)")
    p.add_argument("--dtype", default=None, choices=["float16", "float32", "bfloat16"],
                   help="UNet dtype (default: float16 on cuda, float32 on cpu)")
    p.add_argument("--sampler", default=None, choices=["ddim", "plateau", "repaint"],
                   help="RePaint sampler: ddim (eta 0, j=r=1: one UNet call per step), plateau "
                   "(eta 1, j=10, r=2), repaint (eta 1, j=10, r=10: the RePaint paper's) "
                   "(default: the model folder's sampler.json, else ddim)")
    p.add_argument("--jump-length", type=int, default=None, metavar="J",
                   help="RePaint resampling jump length j (default: the sampler's)")
    p.add_argument("--jump-n-sample", type=int, default=None, metavar="R",
                   help="RePaint walks r per jump; r=1: one UNet call per step "
                   "(default: the sampler's)")
    p.add_argument("--eta", type=float, default=None,
                   help="DDIM (0) … DDPM (1) noise weight (default: the sampler's)")
    p.add_argument("--seed", type=int, default=0, help="seed of the diffusion noise (default 0)")
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="torch CPU threads (default: torch's; 1 is best on a busy CPU)")


def register(sub: Subparsers[argparse.ArgumentParser]) -> None:
    """Add ``inpaint``, ``quality`` and ``fit-quality`` to the ``aaas`` parser."""
    p = sub.add_parser("inpaint", help="restore a damaged image with RePaint",
                       description="Restore the masked pixels of an image with diffusers' RePaint.")
    _model_options(p, required=False)
    p.add_argument("--list-models", action="store_true",
                   help="print the shipped models' names, one per line, and exit")
    p.add_argument("--image", type=Path, help="damaged (or clean) RGB image (required)")
    p.add_argument("--mask", type=Path, help="mask image: white = missing pixel (required)")
    p.add_argument("--steps", type=int, metavar="T", help="inference steps t (required)")
    p.add_argument("--out", type=Path, help="restored PNG to write (required)")
    p.add_argument("--metrics", default="tv", metavar="LIST",
                   help="no-reference metrics of the result: tv, brisque, no-reference, none "
                   "(default: tv)")
    p.add_argument("--json", type=Path, default=None, metavar="PATH",
                   help="write runtime and metrics as JSON")
    p.set_defaults(run=_run("inpaint"))

    q = sub.add_parser("quality", help="image-quality metrics (piq) of an image",
                       description="TV and BRISQUE (no reference); DSS, HaarPSI, MDSI and VIF "
                       "with --reference (the clean original).")
    q.add_argument("--image", type=Path, required=True)
    q.add_argument("--reference", type=Path, default=None, help="clean original (full-reference)")
    q.add_argument("--metrics", default="all", metavar="LIST",
                   help="all (default: every metric the inputs allow), no-reference, or a "
                   "comma list of tv, brisque, dss, haarpsi, mdsi, vif")
    q.add_argument("--json", type=Path, default=None, metavar="PATH",
                   help="write the scores as JSON")
    q.set_defaults(run=_run("quality"))

    f = sub.add_parser("fit-quality", help="fit the paper's quality and runtime models",
                       description="Run RePaint at several step counts over damaged images, "
                       "measure a metric, fit (Ax, Ay, Bx, By) and the runtime model a, b, c.")
    _model_options(f)
    f.add_argument("--steps", type=steps_list, default=[10, 25, 50, 100, 150, 200, 250],
                   metavar="T1,T2,…", help="step counts (default 10,25,50,100,150,200,250)")
    f.add_argument("--metric", default="dss", help="metric to fit (default dss)")
    f.add_argument("--images", type=Path, default=None, metavar="DIR",
                   help="clean images (NAME_mask.png beside one is its mask); default: generated")
    f.add_argument("--count", type=int, default=4, help="generated images (default 4)")
    f.add_argument("--domain", default="generic", choices=sorted(DOMAIN_IMAGES),
                   help="image family of the generated images (default generic)")
    f.add_argument("--size", type=int, default=64, help="side of generated images (default 64)")
    f.add_argument("--hole", type=float, default=0.25, help="hole area fraction (default 0.25)")
    f.add_argument("--range", default=None, metavar="WORST,BEST",
                   help="metric values mapped to quality 0 and 1 (default: the metric's "
                   "typical range; 'data' for the measured extremes)")
    f.add_argument("--time-scale", type=float, default=1.0, metavar="X",
                   help="emulated seconds per measured wall second for the runtime fit (default 1)")
    f.add_argument("--unit-s", type=float, default=60.0, help="runtime model unit (default 60 s)")
    f.add_argument("--index", type=int, default=0, help="ASP index for the override entry")
    f.add_argument("--out-dir", type=Path, required=True,
                   help="writes asp_override.json, runtime.json, fit.json and fit.png here")
    f.set_defaults(run=_run("fit_quality"))


def _run(name: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from edge_node import tools

        return int(getattr(tools, name)(args))

    return run
