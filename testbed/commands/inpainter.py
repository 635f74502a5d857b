"""``aaas train-inpainter`` (a small DDPM per content domain) and ``aaas bench inpaint``.

Light on purpose: only the options live here; torch and diffusers are imported by
:mod:`edge_node.inpainter` when a command runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from aaas.images import DOMAIN_IMAGES
from testbed.options import Subparsers, steps_list

__all__ = ["register", "register_bench"]


def register(sub: Subparsers[argparse.ArgumentParser]) -> None:
    """Add ``train-inpainter`` to the ``aaas`` parser."""
    p = sub.add_parser("train-inpainter", help="train a small diffusion model (DDPM) on one "
                       "content domain's images, for the repaint backend",
                       description="Train a diffusers UNet2DModel DDPM on a content domain's "
                       "procedural image family. The output folder loads as a repaint model; "
                       "a second run with the same --out resumes.")
    p.add_argument("--domain", required=True, choices=sorted(DOMAIN_IMAGES),
                   help="the image family to learn")
    p.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="model folder (unet/, scheduler/, sampler.json, train.json, loss.jsonl, "
                   "checkpoint.pt to resume from)")
    p.add_argument("--size", type=int, default=32, help="UNet sample size in pixels (default 32)")
    p.add_argument("--time-budget", type=float, default=1200.0, metavar="S",
                   help="stop after this many wall seconds of training in total, resumed runs "
                   "included (default 1200)")
    p.add_argument("--max-steps", type=int, default=None, metavar="N",
                   help="also stop after N optimiser steps")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"],
                   help="torch device (default cpu)")
    p.add_argument("--batch-size", type=int, default=32, help="images per step (default 32)")
    p.add_argument("--lr", type=float, default=1e-3, help="peak learning rate (default 1e-3)")
    p.add_argument("--channels", default="32,64,64", metavar="C1,C2,…",
                   help="UNet block widths (default 32,64,64: 1.1 M parameters)")
    p.add_argument("--schedule", default="squaredcos_cap_v2",
                   choices=["squaredcos_cap_v2", "linear"],
                   help="noise schedule (default squaredcos_cap_v2, the cosine one)")
    p.add_argument("--seed", type=int, default=0, help="seed of weights, images, noise")
    p.add_argument("--fresh", action="store_true",
                   help="start over even when --out holds a checkpoint")
    p.add_argument("--threads", type=int, default=1, metavar="N",
                   help="torch CPU threads (default 1: best on a shared CPU)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=_run_train)


def register_bench(bsub: Subparsers[argparse.ArgumentParser]) -> None:
    """Add ``bench inpaint`` to the ``bench`` subcommands."""
    b = bsub.add_parser("inpaint", help="the shipped inpainting models against Telea and a "
                        "random UNet, per domain and step count; RePaint throughput",
                        description="Inpaint held-out images of every domain with every shipped "
                        "model, OpenCV Telea and a random UNet of the shipped shape; one JSON "
                        "row per measurement. Also UNet calls/s and tasks/s on this machine.")
    b.add_argument("--steps", type=steps_list, default=[10, 25, 50, 100, 250],
                   metavar="T1,T2,…", help="step counts (default 10,25,50,100,250)")
    b.add_argument("--images", type=int, default=4, metavar="N",
                   help="held-out images per domain and point (default 4)")
    b.add_argument("--models", default=None, metavar="LIST",
                   help="comma list of shipped models, telea, random (default: all)")
    b.add_argument("--domains", default=None, metavar="LIST",
                   help="comma list of domains (default: those of the shipped models)")
    b.add_argument("--size", type=int, default=32,
                   help="side of the held-out images (default 32: the models' own)")
    b.add_argument("--hole", type=float, default=0.25, help="hole area fraction (default 0.25)")
    b.add_argument("--sampler", default=None, choices=["ddim", "plateau", "repaint"],
                   help="RePaint sampler (default: each model's own, plateau for the shipped)")
    b.add_argument("--seed", type=int, default=1, help="seed of the held-out images (default 1; "
                   "training draws from seed 0's stream)")
    b.add_argument("--all-metrics", action="store_true",
                   help="also TV, BRISQUE, MDSI, whole-image PSNR (for the Fig. 3 plots)")
    b.add_argument("--no-throughput", action="store_true",
                   help="skip the UNet-calls/s and tasks/s measurement")
    b.add_argument("--figures", type=Path, default=None, metavar="DIR",
                   help="also draw Fig. 3 and Fig. 2E and write the fitted curves here")
    b.add_argument("--redraw", default=None, metavar="JSON1,JSON2,…",
                   help="measure nothing: merge the rows of earlier --json outputs (of the same "
                   "images) and draw --figures from them")
    b.add_argument("--threads", type=int, default=1, metavar="N",
                   help="torch CPU threads (default 1)")
    b.add_argument("--json", type=Path, default=None, metavar="PATH",
                   help="write the rows and the throughput as JSON")
    b.set_defaults(run=_run_bench)


def _run_train(args: argparse.Namespace) -> int:
    from edge_node.inpainter.cli import train

    return train(args)


def _run_bench(args: argparse.Namespace) -> int:
    from edge_node.inpainter.cli import bench

    return bench(args)
