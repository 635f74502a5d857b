"""The ``aaas`` command: one entry point, one subcommand per process or tool.

Each subcommand lives with its package in a light ``_cli.py`` module that
defines its options and imports the heavy parts (torch, diffusers) only when
it runs, so ``aaas --help`` stays fast and works on a Raspberry Pi.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from aaas.errors import AaasError

from .options import add_logging, setup_logging

__all__ = ["main"]

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
    "testbed.commands.scenario",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aaas",
        description="AaaS edge emulator: AIGC (diffusion inpainting) services in wireless edge "
        "networks, emulated over MQTT. Start with 'aaas demo'.",
    )
    add_logging(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.log_level)
    try:
        code = args.run(args)
    except AaasError as exc:
        logging.getLogger("aaas").error("%s", exc)
        return 2
    except KeyboardInterrupt:
        return 130
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
