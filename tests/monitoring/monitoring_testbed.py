"""A real testbed run watched by a real Prometheus, shared by the monitoring tests.

Mosquitto and ``aaas demo`` on it (its users behind the emulated wireless link, in
process), as separate processes; Prometheus (the Debian package) scrapes the demo every
second through ``monitoring/prometheus.yml``'s file_sd.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from aaas import TOPICS
from broker import free_port, wait_port

ROOT = Path(__file__).resolve().parents[2]
AAAS = str(Path(sys.executable).parent / "aaas")

# Small nodes and a random policy, so nodes do crash; a lossy channel, so the link
# retransmits and has outages (fading below 6 dB at a mean SNR of 12 dB: ~22 %).
SCENARIO_EXTRA = """
[link]
seed = 5
[link.default]
snr_db = 12
outage_snr_db = 6
fading = "rayleigh"
"""


@dataclass(frozen=True, kw_only=True)
class WatchedRun:
    """A finished demo run and the Prometheus that watched it."""

    prometheus: str
    """Base URL of the Prometheus HTTP API."""
    at: float
    """Unix time of the last scrape of the demo (its final values)."""
    summary: dict[str, Any]
    json_path: Path
    workdir: Path


def _exe(name: str, fallback: str) -> str | None:
    return shutil.which(name) or (fallback if Path(fallback).exists() else None)



def prom_get(base: str, path: str, **params: Any) -> Any:
    url = f"{base}{path}?{urllib.parse.urlencode(params)}"
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


def _scenario(tmp: Path) -> Path:
    text = (ROOT / "aaas" / "scenarios" / "paper.toml").read_text()
    # Our own lossier [link] replaces the paper's (the link table comes last in the file).
    if "\n[link" in text:
        text = text[:text.index("\n[link")]
    text = "\n".join(line for line in text.splitlines()
                     if not line.startswith("# The wireless link") and
                     not line.startswith("# default). Per-user"))
    text = text.replace("capacity = { min = 600, max = 1500, step = 100, inclusive = true }",
                        "capacity = { min = 300, max = 500, step = 100, inclusive = true }")
    path = tmp / "watched.toml"
    path.write_text(text.replace('name = "paper"', 'name = "watched"') + SCENARIO_EXTRA)
    return path


def _prometheus_config(tmp: Path) -> Path:
    conf = yaml.safe_load((ROOT / "monitoring" / "prometheus.yml").read_text())
    conf["global"]["scrape_interval"] = "1s"
    conf["global"]["evaluation_interval"] = "1s"
    for job in conf["scrape_configs"]:
        for sd in job.get("file_sd_configs", []):
            sd["refresh_interval"] = "1s"
    path = tmp / "prometheus.yml"
    path.write_text(yaml.safe_dump(conf))
    return path


def _last_scrape(base: str, since: float) -> float:
    """The time of the demo's last scrape (its series go stale after it)."""
    res = prom_get(base, "/api/v1/query_range", query='up{service="demo"} == 1',
                   start=since, end=time.time(), step="1s")
    values = [float(v[0]) for series in res["data"]["result"] for v in series["values"]]
    if not values:
        raise RuntimeError("Prometheus never scraped the demo")
    return max(values)


class _Procs:
    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, args: list[str], log: Path) -> subprocess.Popen[bytes]:
        with log.open("wb") as out:
            proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture(scope="session")
def watched_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WatchedRun]:
    prometheus = _exe("prometheus", "/usr/bin/prometheus")
    mosquitto = _exe("mosquitto", "/usr/sbin/mosquitto")
    if prometheus is None or mosquitto is None:
        pytest.skip("prometheus and mosquitto are needed (scripts/setup.sh installs them)")
    tmp = tmp_path_factory.mktemp("watched")
    scenario = _scenario(tmp)
    ports = {k: free_port() for k in ("mqtt", "demo_metrics", "prom")}
    (tmp / "mosquitto.conf").write_text(f"listener {ports['mqtt']} 127.0.0.1\n"
                                        "allow_anonymous true\nmax_queued_messages 0\n")
    procs = _Procs()
    try:
        procs.start([mosquitto, "-c", str(tmp / "mosquitto.conf")], tmp / "mosquitto.log")
        procs.start([prometheus, f"--config.file={_prometheus_config(tmp)}",
                     f"--storage.tsdb.path={tmp / 'tsdb'}",
                     f"--web.listen-address=127.0.0.1:{ports['prom']}"], tmp / "prometheus.log")
        wait_port(ports["mqtt"], what="mosquitto", timeout=20)
        wait_port(ports["prom"], what="prometheus", timeout=20)
        # A bad input the orchestrator must count: a retained garbage request, which it
        # receives when it subscribes.
        subprocess.run([_exe("mosquitto_pub", "/usr/bin/mosquitto_pub") or "mosquitto_pub",
                        "-p", str(ports["mqtt"]), "-r", "-q", "1",
                        "-t", TOPICS.request.topic.format(user_id="intruder"), "-m", "garbage"],
                       check=True, timeout=10)
        started = time.time()
        json_path = tmp / "demo.json"
        demo = subprocess.run(
            [AAAS, "--log-level", "WARNING", "demo", "--scenario", str(scenario),
             "--broker", f"mqtt://127.0.0.1:{ports['mqtt']}", "--policy", "random",
             "--users", "30", "--duration", "100000", "--seed", "3", "--no-progress",
             "--metrics-port", str(ports["demo_metrics"]),
             "--prometheus-sd", str(tmp / "targets" / "demo.json"), "--metrics-linger", "3",
             "--json", str(json_path), "--json-records"],
            capture_output=True, text=True, timeout=150)
        if demo.returncode != 0:
            raise RuntimeError(f"aaas demo failed:\n{demo.stdout}\n{demo.stderr}")
        base = f"http://127.0.0.1:{ports['prom']}"
        yield WatchedRun(prometheus=base, at=_last_scrape(base, started),
                         summary=json.loads(json_path.read_text()), json_path=json_path,
                         workdir=tmp)
    finally:
        procs.stop()
