"""A `[user]` wheel install, as on a Raspberry Pi: outside the checkout, with no heavy
package, `aaas` starts and a heavy command names its extra in one line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from testbed.cli import DIST, EXTRAS, build_parser

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _bin(venv: Path, name: str) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin") / name


@pytest.fixture(scope="module")
def user_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv (no system site packages) with the project's wheel and its `[user]` extra."""
    tmp = tmp_path_factory.mktemp("user_install")
    # Built from a copy: an in-tree build leaves build/ behind, whose stale modules (a file
    # moved since) would go into the next wheel.
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "runs"))
    wheels = tmp / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(wheels), str(src)], check=True, timeout=600)
    (wheel,) = wheels.glob("aaas_edge_emulator-*.whl")
    venv = tmp / "venv"
    # The interpreter this venv was made from, not the venv itself: a fresh venv sees none
    # of the dev environment's packages (torch, amqtt, ...).
    subprocess.run([sys._base_executable, "-m", "venv", str(venv)], check=True, timeout=300)
    subprocess.run([str(_bin(venv, "python")), "-m", "pip", "install", "-q",
                    f"{wheel}[user]"], check=True, timeout=900, env=_clean_env())
    return venv


def _clean_env() -> dict[str, str]:
    # PYTHONPATH would put the checkout back on the path; the test is that it is not needed.
    return {k: v for k, v in os.environ.items()
            if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}


def installed_aaas(venv: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the installed ``aaas`` from *cwd* (outside the checkout), without the checkout."""
    return subprocess.run([str(_bin(venv, "aaas")), *args], capture_output=True, text=True,
                          timeout=120, cwd=cwd, env=_clean_env(), check=False)


def test_the_user_install_has_no_heavy_package(user_venv: Path, tmp_path: Path) -> None:
    probe = ("import importlib.util, testbed; print(testbed.__file__); "
             f"print(*[m for m in {tuple(EXTRAS)!r} if importlib.util.find_spec(m)])")
    res = subprocess.run([str(_bin(user_venv, "python")), "-c", probe], capture_output=True,
                         text=True, timeout=60, cwd=tmp_path, env=_clean_env(), check=True)
    where, heavy = res.stdout.splitlines()
    assert Path(where).is_relative_to(user_venv)  # the installed package, not the checkout
    assert heavy == ""


def test_light_commands_run_outside_the_checkout(user_venv: Path, tmp_path: Path) -> None:
    for args in (["--help"], ["user-agent", "--help"]):
        res = installed_aaas(user_venv, *args, cwd=tmp_path)
        assert res.returncode == 0, res.stderr
        assert res.stdout.startswith("usage: aaas")


def test_scenario_show_paper_outside_the_checkout(user_venv: Path, tmp_path: Path) -> None:
    """The named scenarios ship in the wheel (issue 9, item 6)."""
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    if "scenario" not in sub.choices:  # type: ignore[operator]
        pytest.skip("needs `aaas scenario show` (scenarios as package data, branch wt-config)")
    res = installed_aaas(user_venv, "scenario", "show", "paper", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "paper" in res.stdout


def test_a_heavy_command_names_its_extra_in_one_line(user_venv: Path, tmp_path: Path) -> None:
    res = installed_aaas(user_venv, "train", cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    assert res.stderr.strip().splitlines() == [
        f"aaas train needs the 'orchestrator' extra (no module named 'torch'): "
        f"pip install '{DIST}[orchestrator]'"]
