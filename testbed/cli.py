"""The ``aaas`` command: one entry point, one subcommand per process or tool.

Each subcommand lives in a light module of :mod:`testbed.commands` that defines
its options and imports the heavy parts (torch, diffusers) only when it runs, so
``aaas --help`` stays fast and works on a Raspberry Pi. A command whose extra is
not installed ends in one line naming it (:data:`EXTRAS`), not a traceback.
The conventions every command follows are in docs/cli.md.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from aaas.errors import AaasError

from .options import add_logging, setup_logging

__all__ = ["COMMAND_EXTRA", "DIST", "EXTRAS", "build_parser", "main", "missing_extra"]

# module -> it registers one or more subcommands with ``register(subparsers)``
COMMAND_MODULES = (
    "testbed.commands.demo",
    "testbed.commands.edge",
    "testbed.commands.edge_tools",
    "testbed.commands.orchestrate",
    "testbed.commands.train",
    "testbed.commands.users",
    "testbed.commands.broker",
    "testbed.commands.link",
    "testbed.commands.report",
)

DIST = "aaas-edge-emulator"
"""The distribution name, for the ``pip install`` line."""

EXTRAS: dict[str, tuple[str, ...]] = {
    "torch": ("edge", "orchestrator"),
    "torchvision": ("edge",),
    "diffusers": ("edge",),
    "piq": ("edge",),
    "cv2": ("edge",),
    "scipy": ("edge",),
    "gymnasium": ("orchestrator",),
    "amqtt": ("broker", "orchestrator"),
    "matplotlib": ("plots",),
    "aiortc": ("webrtc",),
}
"""Heavy module -> the extras of pyproject.toml that install it (a test keeps it equal)."""

COMMAND_EXTRA: dict[str, str] = {
    "train": "orchestrator",
    "evaluate": "orchestrator",
    "bench": "orchestrator",
    "orchestrator": "orchestrator",
    "edge-node": "edge",
    "inpaint": "edge",
    "quality": "edge",
    "fit-quality": "edge",
    "broker": "broker",
    "report": "plots",
}
"""The extra a command is about: named when its missing module is in several extras."""


def missing_extra(command: str, exc: ModuleNotFoundError) -> str | None:
    """One line naming the extra that installs *exc*'s module, or None if it is not ours."""
    module = (exc.name or "").split(".")[0]
    extras = EXTRAS.get(module)
    if not extras:
        return None
    preferred = COMMAND_EXTRA.get(command)
    extra = preferred if preferred in extras else extras[0]
    return (f"aaas {command} needs the '{extra}' extra (no module named '{module}'): "
            f"pip install '{DIST}[{extra}]'")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aaas",
        description="AaaS edge emulator: AIGC (diffusion inpainting) services in wireless edge "
        "networks, emulated over MQTT. Start with 'aaas demo'. Conventions: docs/cli.md.",
    )
    add_logging(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        module.register(sub)
    return parser


def _fail(command: str, message: str) -> int:
    # One plain line on stderr, like argparse's own errors (exit code 2 too): a log
    # handler would add a time column and wrap it.
    print(f"aaas {command}: error: {message}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.log_level)
    try:
        code = args.run(args)
    except AaasError as exc:
        return _fail(args.command, str(exc))
    except ModuleNotFoundError as exc:
        line = missing_extra(args.command, exc)
        if line is None:
            raise  # not a heavy module of an extra: a bug, keep its traceback
        print(line, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
