"""``aaas scenario list|show``: what a scenario resolves to, in tables or JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from aaas import load_scenario
from testbed.cli import main

# The heavy extras a [user] install lacks: importing any of them fails in the light run.
HEAVY = ("torch", "torchvision", "diffusers", "piq", "cv2", "scipy", "gymnasium", "amqtt",
         "matplotlib", "aiortc")


def test_list_names_the_shipped_scenarios_with_their_description(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenario", "list"]) == 0
    out = capsys.readouterr().out
    assert "paper" in out and "agod" in out
    assert load_scenario("agod").description[:30] in out


def test_show_paper_prints_every_asp_and_the_workload(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenario", "show", "paper"]) == 0
    out = capsys.readouterr().out
    asp_rows = [line for line in out.splitlines() if "asp-" in line]
    assert len(asp_rows) == 20
    first = load_scenario("paper").asps[0]
    assert f"{first.capacity}" in asp_rows[0] and f"{first.curve.ax:.1f}" in asp_rows[0]
    for needle in ("1000", "0.001", "100..250 by 10", "1000 tasks", "umi_nlos", "rayleigh"):
        assert needle in out, needle


def test_show_takes_a_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "two.toml"
    path.write_text('name = "two"\nseed = 4\n[asps]\ncount = 2\n[link.default]\nsnr_db = 12\n')
    assert main(["scenario", "show", str(path)]) == 0
    out = capsys.readouterr().out
    assert "asp-00" in out and "asp-01" in out and "asp-02" not in out


def test_show_of_an_unknown_name_says_so_in_one_line(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenario", "show", "nope"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1, err  # one line (docs/cli.md: errors are one line on stderr)
    assert "nope" in err and "paper" in err


@pytest.mark.parametrize(("table", "key"), [
    ("[link]\nbogus = 1\n", "bogus"),
    ("[link.default]\nwarp = 9\n", "warp"),
    ("[[link.user]]\nid = \"user-0000\"\nretry_limit = -1\n", "retry_limit"),
], ids=["unknown-table-key", "unknown-profile-key", "bad-value"])
def test_show_of_a_bad_link_table_fails_in_one_line_naming_the_key(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], table: str, key: str) -> None:
    # The scenario is refused when it loads, as every command refuses it (docs/cli.md).
    path = tmp_path / "badlink.toml"
    path.write_text("[asps]\ncount = 1\n" + table)
    assert main(["scenario", "show", str(path), "--json", "-"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1, err
    assert key in err and str(path) in err


def test_json_writes_the_asps_and_the_workload(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "paper.json"
    assert main(["scenario", "show", "paper", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    scenario = load_scenario("paper")
    assert [a["id"] for a in data["asps"]] == list(scenario.node_ids)
    assert data["asps"][3]["capacity"] == scenario.asps[3].capacity
    assert data["asps"][3]["curve"]["by"] == scenario.asps[3].curve.by
    assert data["workload"]["expected_tasks"] == pytest.approx(1000)
    assert data["link"]["default"]["fading"] == {"model": "rayleigh"}
    assert "asp-00" in capsys.readouterr().out  # the tables still go to the terminal


def test_list_json_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenario", "list", "--json", "-"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {"paper", "agod"} <= {s["name"] for s in listed}


def test_show_works_without_the_heavy_extras() -> None:
    block = "; ".join(f"sys.modules[{m!r}] = None" for m in HEAVY)
    code = (f"import sys; {block}; from testbed.cli import main; "
            "sys.exit(main(['scenario', 'show', 'paper', '--json', '-']))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    assert len(json.loads(run.stdout)["asps"]) == 20
