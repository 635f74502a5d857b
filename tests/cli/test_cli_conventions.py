"""One command-line convention (docs/cli.md): the same option means the same thing
everywhere, errors are one line with exit code 2, a missing extra is named."""

from __future__ import annotations

import argparse
import json
import re
import socket
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from broker import free_port
from testbed.cli import COMMAND_EXTRA, DIST, EXTRAS, build_parser, options_table
from testbed.demo import DemoSummary
from user_agent import OUTCOMES, QoSSummary, TaskRecord

ROOT = Path(__file__).resolve().parents[2]

# The heavy modules a `[user]` install lacks, made missing in a subprocess: a finder
# that answers ModuleNotFoundError first, as a Python without them would (the
# technique of tests/monitoring/test_deploy.py's BLOCKER).
HEAVY = tuple(EXTRAS)
USER_INSTALL = f"""
import importlib.abc, sys
class Missing(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {HEAVY!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
sys.meta_path.insert(0, Missing())
from testbed.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _aaas(*args: str, user_install: bool = False,
          timeout: float = 90) -> subprocess.CompletedProcess[str]:
    head = ["-c", USER_INSTALL] if user_install else ["-m", "testbed.cli"]
    return subprocess.run([sys.executable, *head, "--log-level", "WARNING", *args],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT, check=False)


def _one_line_error(res: subprocess.CompletedProcess[str]) -> str:
    assert res.returncode == 2, (res.returncode, res.stdout[-2000:], res.stderr[-2000:])
    assert "Traceback" not in res.stdout + res.stderr, res.stderr[-3000:]
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, res.stderr
    return lines[0]


# --- the missing extras -------------------------------------------------------------------


def test_extras_table_matches_pyproject() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    module_of = {"opencv-python-headless": "cv2"}  # distribution -> the module it installs
    found: dict[str, set[str]] = {}
    for extra, reqs in extras.items():
        if extra in ("all", "dev", "user"):
            continue
        for req in reqs:
            dist = re.split(r"[<>=\[; ]", req)[0]
            found.setdefault(module_of.get(dist, dist), set()).add(extra)
    assert {m: set(e) for m, e in EXTRAS.items()} == found
    assert extras["user"] == []  # a [user] install is the core: none of EXTRAS
    assert set(COMMAND_EXTRA.values()) <= set(extras)
    commands = {name.split()[0] for name in _table_commands()}
    assert set(COMMAND_EXTRA) <= commands


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Valid inputs, so each heavy command gets as far as its heavy import."""
    folder = tmp_path_factory.mktemp("inputs")
    rng = np.random.default_rng(0)
    image, mask = folder / "image.png", folder / "mask.png"
    Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(image)
    Image.fromarray(np.pad(np.full((8, 8), 255, np.uint8), 12)).save(mask)
    summary = folder / "demo.json"
    record = {"task_id": "t1", "steps": 10, "sent_at": 0.0, "outcome": "finished",
              "latency_s": 60.0, "quality": 0.5, "node_id": "asp-00", "error": None,
              "attempts": 1, "bytes_up": 10, "bytes_down": 10}
    summary.write_text(json.dumps({"scenario": "paper", "records": [record]}))
    return {"image": str(image), "mask": str(mask), "demo_json": str(summary),
            "out": str(folder / "out")}


HEAVY_COMMANDS = {
    "train": (["train", "--time-budget", "1"], "orchestrator"),
    "evaluate": (["evaluate", "--episodes", "1"], "orchestrator"),
    "bench sim": (["bench", "sim"], "orchestrator"),
    "orchestrator sac": (["orchestrator", "--policy", "sac", "--broker", "mqtt://127.0.0.1:1"],
                         "orchestrator"),
    "quality": (["quality", "--image", "{image}"], "edge"),
    "inpaint": (["inpaint", "--model", "m", "--image", "{image}", "--mask", "{mask}", "--steps",
                 "2", "--out", "{out}/x.png"], "edge"),
    "fit-quality": (["fit-quality", "--model", "m", "--out-dir", "{out}"], "edge"),
    "train-inpainter": (["train-inpainter", "--domain", "faces", "--out", "{out}/m",
                         "--max-steps", "1"], "edge"),
    "bench inpaint": (["bench", "inpaint", "--no-throughput"], "edge"),
    "report": (["report", "--from-json", "{demo_json}", "--out", "{out}"], "plots"),
    "broker": (["broker", "--port", "0"], "broker"),
    # The demo's default broker is a private Mosquitto where installed: ask for amqtt.
    "demo": (["demo", "--users", "2", "--no-progress", "--broker", "embedded"], "broker"),
}


@pytest.mark.parametrize("case", sorted(HEAVY_COMMANDS))
def test_heavy_command_in_a_user_install_names_its_extra(case: str,
                                                         inputs: dict[str, str]) -> None:
    args, extra = HEAVY_COMMANDS[case]
    line = _one_line_error(_aaas(*(a.format(**inputs) for a in args), user_install=True))
    assert f"pip install '{DIST}[{extra}]'" in line, line


def test_a_missing_module_of_no_extra_keeps_its_traceback() -> None:
    # Only the known heavy modules are turned into a hint; anything else is a bug.
    code = USER_INSTALL.replace("from testbed.cli import main",
                                "import testbed.cli as c; c.COMMAND_MODULES += ('no_such_mod',)\n"
                                "from testbed.cli import main")
    res = subprocess.run([sys.executable, "-c", code, "channel", "--snr-db", "1"],
                         capture_output=True, text=True, timeout=60, cwd=ROOT, check=False)
    assert res.returncode == 1 and "Traceback" in res.stderr


def test_user_install_runs_the_light_commands(tmp_path: Path) -> None:
    out = tmp_path / "ch.json"
    res = _aaas("channel", "--snr-db", "10", "--frames", "200", "--json", str(out),
                user_install=True)
    assert res.returncode == 0, res.stderr
    assert "ber.analytic" in json.loads(out.read_text())
    res = _aaas("user-agent", "--help", user_install=True)
    assert res.returncode == 0 and "--user-ids" in res.stdout


# --- a busy port, an unreachable broker -----------------------------------------------------


@pytest.fixture
def busy_port() -> int:  # type: ignore[misc]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


@pytest.mark.parametrize("command", [
    ["orchestrator", "--broker", "mqtt://127.0.0.1:1"],
    ["link", "--upstream", "mqtt://127.0.0.1:1", "--listen", "127.0.0.1:0"],
    ["demo", "--users", "2", "--no-progress"],
], ids=lambda c: c[0])
def test_busy_metrics_port_is_one_line(command: list[str], busy_port: int) -> None:
    line = _one_line_error(_aaas(*command, "--metrics-port", str(busy_port)))
    assert f"--metrics-port {busy_port}" in line and "in use" in line, line


def test_unreachable_broker_is_one_line() -> None:
    nowhere = f"mqtt://127.0.0.1:{free_port()}"
    line = _one_line_error(_aaas("demo", "--broker", nowhere, "--users", "2", "--no-progress"))
    assert f"cannot reach the MQTT broker at {nowhere}" in line, line
    line = _one_line_error(_aaas("user-agent", "--broker", nowhere, "--follow-clock"))
    assert nowhere in line, line
    # The link follows the clock through its upstream broker (it used to ignore the option).
    line = _one_line_error(_aaas("link", "--upstream", nowhere, "--listen", "127.0.0.1:0",
                                 "--follow-clock"))
    assert f"cannot read the testbed clock from {nowhere}" in line, line


@pytest.mark.parametrize("command", [
    ["demo", "--broker", "{nowhere}", "--users", "2", "--no-progress"],
    ["link", "--upstream", "{nowhere}", "--listen", "127.0.0.1:0", "--follow-clock"],
], ids=lambda c: c[0])
def test_a_bad_link_table_stops_the_command_when_the_scenario_loads(
        command: list[str], tmp_path: Path) -> None:
    # Before anything starts: the error is the table's bad key, not the unreachable broker
    # the command would meet first if it read the table only when the link starts.
    path = tmp_path / "badlink.toml"
    path.write_text("[asps]\ncount = 1\n[link.default]\nwarp = 9\n")
    nowhere = f"mqtt://127.0.0.1:{free_port()}"
    line = _one_line_error(_aaas(*(a.format(nowhere=nowhere) for a in command),
                                 "--scenario", str(path)))
    assert "warp" in line and str(path) in line, line


# --- the same option means the same thing ---------------------------------------------------


def test_users_is_a_count_and_ids_go_in_user_ids(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    assert parser.parse_args(["demo", "--users", "5"]).users == 5
    args = parser.parse_args(["user-agent", "--users", "5", "--user-ids", "user-0001,user-0002"])
    assert args.users == 5 and args.user_ids == "user-0001,user-0002"
    with pytest.raises(SystemExit) as info:
        parser.parse_args(["user-agent", "--users", "user-0001,user-0002"])
    assert info.value.code == 2
    assert "--user-ids" in capsys.readouterr().err


def test_broker_help_says_what_each_command_does_without_it() -> None:
    helps = {name: next(a.help for a in sub._actions if "--broker" in a.option_strings)
             for name, sub in _table_commands().items()
             if any("--broker" in a.option_strings for a in sub._actions)}
    assert "embedded" in str(helps.pop("demo"))
    assert helps and all("127.0.0.1:1883" in str(h) and "embedded" not in str(h)
                         for h in helps.values()), helps


def test_json_is_an_output_path_everywhere(tmp_path: Path) -> None:
    for name, sub in _table_commands().items():
        for action in sub._actions:
            if "--json" in action.option_strings and action.help != argparse.SUPPRESS:
                assert action.metavar == "PATH", name
    out = tmp_path / "sub" / "channel.json"
    res = _aaas("channel", "--snr-db", "5", "--frames", "200", "--json", str(out))
    assert res.returncode == 0, res.stderr
    assert set(json.loads(out.read_text())) >= {"ber.analytic", "per.empirical"}
    printed = _aaas("channel", "--snr-db", "5", "--frames", "200", "--json", "-")
    assert set(json.loads(printed.stdout)) == set(json.loads(out.read_text()))


def test_report_reads_from_json_and_the_old_spelling_warns(tmp_path: Path) -> None:
    missing = str(tmp_path / "none.json")
    new = _aaas("report", "--from-json", missing)
    assert new.returncode == 2 and "deprecated" not in new.stderr
    old = _aaas("report", "--json", missing)
    assert old.returncode == 2
    assert "'--json' is deprecated here: use --from-json" in old.stderr


# --- docs/cli.md stays true -----------------------------------------------------------------


def _table_commands() -> dict[str, argparse.ArgumentParser]:
    from testbed.cli import _commands

    return dict(_commands(build_parser()))


def test_docs_cli_table_is_the_parsers() -> None:
    doc = (ROOT / "docs" / "cli.md").read_text()
    table = doc.split("<!-- options-table -->\n")[1].split("<!-- /options-table -->")[0]
    assert table == options_table(), "regenerate docs/cli.md's table:\n" + options_table()


def test_readme_names_the_options_doc() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "docs/cli.md" in readme
    assert "All of them take" not in readme  # the old, untrue sentence


# --- one JSON summary -----------------------------------------------------------------------


def test_the_user_agent_summary_is_part_of_the_demos() -> None:
    records = [TaskRecord(task_id="a", user_id="u", steps=5, sent_at=0.0, outcome="finished",
                          latency_s=10.0, quality=0.5, bytes_up=3, bytes_down=4, attempts=2),
               TaskRecord(task_id="b", user_id="u", steps=5, sent_at=1.0)]
    qos = QoSSummary.of(records).as_json()
    assert qos == {"tasks": {"sent": 2, "finished": 1, "crashed": 0, "rejected": 0, "error": 0,
                             "lost": 1, "undeliverable": 0},
                   "quality": {"mean": 0.5}, "latency_s": {"p50": 10.0, "p95": 10.0},
                   "bytes": {"up": 3, "down": 4}, "retries": 1}
    assert set(qos["tasks"]) == {"sent", *OUTCOMES}
    assert set(QoSSummary.__struct_fields__) < set(DemoSummary.__struct_fields__)
