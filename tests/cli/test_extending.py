"""docs/extending.md stays true: its outside policy package builds, installs and runs live."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "extending.md"


def _doc_files() -> dict[str, str]:
    """The fenced code blocks of the doc that start with ``# file: NAME``."""
    files = {}
    for block in re.findall(r"```[a-z]*\n(.*?)```", DOC.read_text(), flags=re.DOTALL):
        first, _, rest = block.partition("\n")
        if m := re.fullmatch(r"# file: (\S+)", first.strip()):
            files[m[1]] = rest
    return files


def test_the_doc_shows_a_whole_policy_package_in_under_30_lines() -> None:
    files = _doc_files()
    assert set(files) == {"pyproject.toml", "aaas_first_fit.py"}
    assert sum(len(text.strip().splitlines()) for text in files.values()) < 30


@pytest.mark.slow
def test_an_outside_policy_package_installs_and_runs_live(tmp_path: Path) -> None:
    pkg, site = tmp_path / "pkg", tmp_path / "site"
    pkg.mkdir()
    for name, text in _doc_files().items():
        (pkg / name).write_text(text)
    # A real build and install, offline: the project's setuptools, no index, no deps
    # (the emulator is already importable); --target keeps it out of the shared venv.
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index",
                          "--no-build-isolation", "--quiet", "--target", str(site), str(pkg)],
                         capture_output=True, text=True, timeout=180, check=False)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    assert (site / "aaas_first_fit.py").is_file()

    scen = tmp_path / "tiny.toml"
    scen.write_text('name = "tiny"\nseed = 3\n[asps]\ncount = 3\n'
                    '[workload]\nusers = 6\nhorizon_s = 60000\narrival_rate = 0.0003\n')
    out = tmp_path / "summary.json"
    env = {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{REPO}", "COLUMNS": "200"}
    demo = subprocess.run([sys.executable, "-m", "testbed.cli", "--log-level", "WARNING", "demo",
                           "--policy", "first_fit", "--scenario", str(scen), "--users", "6",
                           "--time-scale", "20000", "--no-progress", "--json", str(out)],
                          capture_output=True, text=True, timeout=180, env=env, cwd=tmp_path,
                          check=False)
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-2000:]
    summary = json.loads(out.read_text())
    assert summary["policy"] == "first_fit"
    tasks = summary["tasks"]
    assert tasks["sent"] > 0 and tasks["finished"] == tasks["sent"]
