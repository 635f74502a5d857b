"""``aaas report`` from a real run: the demo's JSON and the Prometheus that watched it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from monitoring_testbed import WatchedRun

AAAS = str(Path(sys.executable).parent / "aaas")
FILES = {"outcomes.png", "latency.png", "load.png", "bandwidth.png", "report.html"}


def _check(out: Path, stdout: str) -> str:
    assert {Path(line).name for line in stdout.split()} == FILES
    for name in FILES - {"report.html"}:
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", name
        assert len(data) > 5_000, name  # a drawn plot, not an empty canvas
    page = (out / "report.html").read_text()
    for name in FILES - {"report.html"}:
        assert f'src="{name}"' in page
    return page


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    res = subprocess.run([AAAS, "--log-level", "WARNING", "report", *args],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    return res


def test_report_from_demo_json(watched_run: WatchedRun, tmp_path: Path) -> None:
    out = tmp_path / "from_json"
    page = _check(out, _run("--from-json", str(watched_run.json_path), "--out", str(out)).stdout)
    finished = watched_run.summary["tasks"]["finished"]
    assert f"<td>tasks.finished</td><td>{finished}</td>" in page


def test_report_from_prometheus(watched_run: WatchedRun, tmp_path: Path) -> None:
    out = tmp_path / "from_prometheus"
    start = watched_run.at - 120
    page = _check(out, _run("--prometheus", watched_run.prometheus, "--start", str(start),
                            "--end", str(watched_run.at), "--out", str(out)).stdout)
    finished = watched_run.summary["tasks"]["finished"]
    assert f"<td>tasks.finished</td><td>{finished}</td>" in page


def test_report_refuses_a_summary_without_records(watched_run: WatchedRun,
                                                  tmp_path: Path) -> None:
    import json

    bare = tmp_path / "bare.json"
    summary = dict(watched_run.summary)
    summary.pop("records")
    bare.write_text(json.dumps(summary))
    res = subprocess.run([AAAS, "report", "--from-json", str(bare), "--out", str(tmp_path / "o")],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 2
    assert "--json-records" in res.stderr + res.stdout
