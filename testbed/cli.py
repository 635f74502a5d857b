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

from .options import add_logging, finish_broker, finish_scenario, setup_logging

__all__ = ["COMMAND_EXTRA", "COMMON_OPTIONS", "DIST", "EXTRAS", "build_parser", "main",
           "missing_extra", "options_table"]

# module -> it registers one or more subcommands with ``register(subparsers)``
COMMAND_MODULES = (
    "testbed.commands.demo",
    "testbed.commands.compare",
    "testbed.commands.edge",
    "testbed.commands.edge_tools",
    "testbed.commands.inpainter",
    "testbed.commands.orchestrate",
    "testbed.commands.train",
    "testbed.commands.bound",
    "testbed.commands.users",
    "testbed.commands.broker",
    "testbed.commands.link",
    "testbed.commands.report",
    "testbed.commands.scenario",
    "testbed.commands.security",
)

DIST = "aaas-edge-emulator"
"""The distribution name, for the ``pip install`` line."""

EXTRAS: dict[str, tuple[str, ...]] = {
    "torch": ("edge", "orchestrator"),
    "torchvision": ("edge",),
    "diffusers": ("edge",),
    "piq": ("edge",),
    "cv2": ("edge",),
    "scipy": ("edge", "orchestrator"),
    "gymnasium": ("orchestrator",),
    "psutil": ("orchestrator",),
    "amqtt": ("broker", "orchestrator"),
    "matplotlib": ("plots",),
    "aiortc": ("webrtc",),
}
"""Heavy module -> the extras of pyproject.toml that install it (a test keeps it equal)."""

COMMAND_EXTRA: dict[str, str] = {
    "train": "orchestrator",
    "evaluate": "orchestrator",
    "bench": "orchestrator",
    "bound": "orchestrator",
    "orchestrator": "orchestrator",
    "edge-node": "edge",
    "inpaint": "edge",
    "quality": "edge",
    "fit-quality": "edge",
    "train-inpainter": "edge",
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


COMMON_OPTIONS = ("--broker", "--scenario", "--time-scale", "--follow-clock", "--metrics-port",
                  "--json", "--users", "--user-ids", "--seed", "--policy")
"""The options that mean the same in every command that takes them (docs/cli.md)."""


def _commands(parser: argparse.ArgumentParser,
              prefix: str = "") -> list[tuple[str, argparse.ArgumentParser]]:
    """(name, parser) of every runnable subcommand, nested ones (``bench sim``) included."""
    out: list[tuple[str, argparse.ArgumentParser]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                nested = _commands(sub, f"{prefix}{name} ")
                out.extend(nested or [(f"{prefix}{name}", sub)])
    return out


def options_table(parser: argparse.ArgumentParser | None = None) -> str:
    """docs/cli.md's table of commands × :data:`COMMON_OPTIONS`, from the real parser."""
    rows = ["| command | " + " | ".join(f"`{o}`" for o in COMMON_OPTIONS) + " |",
            "|---" * (len(COMMON_OPTIONS) + 1) + "|"]
    for name, sub in _commands(parser or build_parser()):
        # Hidden options (a deprecated alias) are no part of the convention.
        shown = {o for a in sub._actions if a.help != argparse.SUPPRESS for o in a.option_strings}
        cells = ("✓" if o in shown else "" for o in COMMON_OPTIONS)
        rows.append(f"| `{name}` | " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"


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
        finish_broker(args, sys.argv[1:] if argv is None else argv)
        finish_scenario(args)
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
