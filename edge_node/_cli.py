"""Subcommands of this package (filled in as the package grows)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add this package's subcommands to the ``aaas`` parser."""
