"""The layers of docs/architecture.md hold: import-linter's contracts in pyproject.toml,
and no module imports itself through others."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_are_kept() -> None:
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert exe is not None, "import-linter is part of the dev extra"
    proc = subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout


def test_no_module_imports_itself_through_other_modules() -> None:
    """import-linter's acyclic_siblings contract covers siblings; this covers the rest
    (a package and its own modules): no import a -> b while b reaches a again. grimp
    counts imports under TYPE_CHECKING too, which only hide a cycle from the runtime."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    graph = grimp.build_graph(*config["root_packages"], cache_dir=None)
    cycles = sorted({tuple(sorted((a, b))) for a in graph.modules
                     for b in graph.find_modules_directly_imported_by(a)
                     if b in graph.modules and graph.chain_exists(importer=b, imported=a)})
    assert cycles == [], f"modules that import each other (directly or through others): {cycles}"
