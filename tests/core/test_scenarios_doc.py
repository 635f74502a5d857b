"""docs/scenarios.md names every key a scenario file takes, table by table."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec
import pytest

from aaas import CrashRule, RuntimeModel
from aaas.config import (
    AspOverride,
    AspPopulation,
    Domains,
    Limits,
    Range,
    ScenarioFile,
    Workload,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "scenarios.md"


def _section(heading: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index(heading)
    end = text.find("\n### ", start + 1)
    return text[start:] if end < 0 else text[start:end]


@pytest.mark.parametrize(
    ("heading", "table"),
    [
        ("### Top level", ScenarioFile),
        ("### `[asps]`", AspPopulation),
        ("### `[asps]`", AspOverride),
        ("### `[asps]`", Range),
        ("### `[workload]`", Workload),
        ("### `[runtime]`", RuntimeModel),
        ("### `[crash]`", CrashRule),
        ("### `[limits]`", Limits),
        ("### `[domains]`", Domains),
    ],
)
def test_every_key_is_documented(heading: str, table: type[msgspec.Struct]) -> None:
    section = _section(heading)
    documented = set(re.findall(r"`(\w+)`", section))
    tables = {"asps", "workload", "runtime", "crash", "limits", "link", "domains"}
    keys = set(table.__struct_fields__) - (tables if table is ScenarioFile else set())
    assert keys <= documented, keys - documented
