"""Prometheus file-based service discovery: a targets file Prometheus watches."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["scrape_address", "write_file_sd"]


def scrape_address(host: str, port: int) -> str:
    """``host:port`` as Prometheus should dial it (a wildcard bind means this host)."""
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def write_file_sd(path: Path, targets: Sequence[str], labels: Mapping[str, str]) -> None:
    """Write a ``file_sd_configs`` JSON file atomically (Prometheus re-reads it on change)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps([{"targets": list(targets), "labels": dict(labels)}], indent=2)
                   + "\n")
    os.replace(tmp, path)
