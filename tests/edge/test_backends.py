"""The backend registry: names checked when a node starts, missing modules refused in one line."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from aaas import ConfigError, parse_scenario
from edge_node.backends import BACKENDS, ModeledBackend, check_backends
from edge_node.group import make_backend

REPO = Path(__file__).resolve().parents[2]

# An outside package's backend whose dependency is not installed (the test
# installs nothing and uninstalls nothing: the module it declares does not exist).
FAKE_BACKEND = '''
from edge_node.backends import BackendPlugin, ModeledBackend

def make(spec, *, scenario, clock, device):
    return ModeledBackend(clock=clock, runtime=scenario.runtime)

PLUGIN = BackendPlugin(factory=make, requires=("no_such_module_xyz",), extra="gpu",
                       distribution="fake-backend")
'''


def test_the_shipped_backends_declare_what_they_need() -> None:
    assert BACKENDS.names()[:2] == ("modeled", "repaint")
    assert BACKENDS.get("modeled").requires == ("cv2",)
    assert BACKENDS.get("repaint").requires == ("torch", "diffusers")
    assert {BACKENDS.get(n).extra for n in ("modeled", "repaint")} == {"edge"}
    check_backends(["modeled", "repaint"])  # this environment has the edge extra


def test_missing_modules_are_named_with_the_extra() -> None:
    plugin = dataclasses.replace(BACKENDS.get("modeled"), requires=("cv2", "no_such_module_xyz"))
    assert plugin.missing() == ["no_such_module_xyz"]
    assert plugin.install_hint() == "pip install 'aaas-edge-emulator[edge]'"


def test_the_scenario_keeps_any_name_and_the_edge_refuses_an_unknown_one() -> None:
    scenario = parse_scenario({"asps": {"count": 2, "backend": "gpu_magic"}})
    with pytest.raises(ConfigError, match=r"unknown backend 'gpu_magic' \(known: modeled, "):
        check_backends(a.backend for a in scenario.asps)
    with pytest.raises(ConfigError, match="unknown backend"):
        make_backend(scenario.asps[0], scenario=scenario, clock=None)  # type: ignore[arg-type]


def test_make_backend_builds_from_the_registry() -> None:
    from aaas import EmulatedClock

    scenario = parse_scenario({"asps": {"count": 1}})
    backend = make_backend(scenario.asps[0], scenario=scenario, clock=EmulatedClock())
    assert isinstance(backend, ModeledBackend)


@pytest.mark.parametrize(("backend", "message"), [
    ("needs_missing", "backend 'needs_missing' needs no_such_module_xyz, not installed here: "
                      "pip install 'fake-backend[gpu]'"),
    ("gpu_magic", "unknown backend 'gpu_magic' (known: modeled, repaint, needs_missing)"),
])
def test_edge_node_refuses_to_start_in_one_line(tmp_path: Path, backend: str,
                                                message: str) -> None:
    site = tmp_path / "site"
    dist = site / "fake_backend-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-backend\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[aaas.backends]\nneeds_missing = fake_backend:PLUGIN\n")
    (site / "fake_backend.py").write_text(FAKE_BACKEND)
    scen = tmp_path / "s.toml"
    scen.write_text(f'name = "s"\n[asps]\ncount = 2\nbackend = "{backend}"\n')
    env = {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{REPO}", "COLUMNS": "400"}
    # port 1: nothing listens there; the refusal comes before any connection
    run = subprocess.run([sys.executable, "-m", "testbed.cli", "edge-node", "--scenario",
                          str(scen), "--broker", "mqtt://127.0.0.1:1"], capture_output=True,
                         text=True, timeout=60, env=env, cwd=tmp_path, check=False)
    out = run.stdout + run.stderr
    assert run.returncode == 2, out
    assert message in out
    assert "Traceback" not in out
    assert len(out.strip().splitlines()) == 1, out
