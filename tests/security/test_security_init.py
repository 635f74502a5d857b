"""`aaas security init`: identities that survive re-runs, an ACL made from the route table,
Mosquitto's password hash, and broker options that keep secrets off the command line."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from aaas import Role, Route, TaskRequest, TopicTemplate
from broker.secure import SecureMosquitto
from broker.security import hash_password, identities_for, init_security, revoke, verify_password
from broker.security.acl import role_rules
from testbed.cli import main
from tests.helpers.stack import small_scenario


def test_rerun_for_a_larger_scenario_keeps_what_was_issued(tmp_path: Path) -> None:
    d, first = init_security(small_scenario(asps=2, users=3), tmp_path)
    assert {"orchestrator", "link", "operator", "observer", "asp-00", "user-0002"} <= set(first)
    before = {p.name: p.read_text() for p in d.secrets.iterdir()}
    hashes, ca = d.hashes(), d.ca.read_bytes()
    _, second = init_security(small_scenario(asps=3, users=5), tmp_path)
    assert set(second) == {"asp-02", "user-0003", "user-0004"}
    assert {p.name: p.read_text() for p in d.secrets.iterdir() if p.name in before} == before
    assert {k: v for k, v in d.hashes().items() if k in hashes} == hashes
    assert d.ca.read_bytes() == ca
    assert oct(d.secrets.joinpath("user-0004.password").stat().st_mode & 0o777) == "0o600"
    assert "user user-0004" in d.acl.read_text()
    # Revoked: gone from the password file and the ACL, and never issued again.
    revoke(tmp_path, ["user-0001"])
    assert "user-0001" not in d.hashes() and "user user-0001\n" not in d.acl.read_text()
    _, third = init_security(small_scenario(asps=3, users=5), tmp_path)
    assert third == [] and d.password_of("user-0001") is None


def test_acl_rules_come_from_the_route_table() -> None:
    rules = {(r.topic, r.access) for r in role_rules(Role.USER)}
    assert ("aaas/v1/users/%u/request", "write") in rules
    assert ("aaas/v1/users/%u/result", "read") in rules
    assert not any(t.endswith("/load") for t, _ in rules)
    # A user reads the assignments of its own tasks only (to send the node the content),
    # and sends content in its own name only; it reads no content.
    assert [r for r in rules if "/assign" in r[0]] == [("aaas/v1/nodes/+/assign/%u", "read")]
    assert [r for r in rules if "/content" in r[0]] == [("aaas/v1/nodes/+/content/%u", "write")]
    node = {(r.topic, r.access) for r in role_rules(Role.EDGE_NODE)}
    assert {("aaas/v1/nodes/%u/load", "write"), ("aaas/v1/nodes/%u/status", "write"),
            ("aaas/v1/nodes/%u/assign/+", "read"), ("aaas/v1/users/+/result", "write"),
            ("aaas/v1/nodes/%u/content/+", "read"), ("aaas/v1/users/+/error/%u", "write")} <= node
    assert not any("/content" in r.topic for r in role_rules(Role.ORCHESTRATOR))
    assert ("aaas/v1/users/+/request", "read") not in node
    # A route added to the contract (say, WebRTC signalling) gets its rules from its roles.
    offer = Route("offer", TopicTemplate("aaas/v1/users/{user_id}/webrtc/offer"), TaskRequest,
                  1, False, frozenset({Role.USER}), frozenset({Role.EDGE_NODE}))
    assert ("aaas/v1/users/%u/webrtc/offer", "write") in {
        (r.topic, r.access) for r in role_rules(Role.USER, [offer])}
    assert [(r.topic, r.access) for r in role_rules(Role.EDGE_NODE, [offer])] == [
        ("aaas/v1/users/+/webrtc/offer", "read")]
    assert role_rules(Role.ORCHESTRATOR, [offer]) == []


def test_identities_are_unique_per_role() -> None:
    names = [i.name for i in identities_for(small_scenario(asps=2, users=3))]
    assert len(names) == len(set(names)) == 4 + 2 + 3


@pytest.mark.skipif(shutil.which("mosquitto_passwd") is None, reason="no mosquitto_passwd")
def test_password_hash_is_mosquittos(tmp_path: Path) -> None:
    assert verify_password("s3cret", hash_password("s3cret"))
    assert not verify_password("wrong", hash_password("s3cret"))
    # A hash mosquitto_passwd made verifies here (the other way round: the attack tests
    # log in to Mosquitto with the hashes written here).
    f = tmp_path / "p"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(f), "u", "s3cret"], check=True,
                   timeout=30)
    assert verify_password("s3cret", f.read_text().strip().split(":", 1)[1])


def test_a_password_on_the_command_line_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["orchestrator", "--broker", "mqtt://orchestrator:hunter2@localhost:1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "visible to every user in ps" in err[0]
    assert "hunter2" not in err[0]


@pytest.mark.mosquitto
def test_a_wrong_password_ends_a_command_with_one_line(tmp_path: Path) -> None:
    d, _ = init_security(small_scenario(asps=1, users=1), tmp_path / "sec")
    (tmp_path / "pw").write_text("not-the-password\n")
    with SecureMosquitto(d.root, workdir=tmp_path) as broker:
        res = subprocess.run(
            [sys.executable, "-m", "testbed.cli", "orchestrator", "--scenario", "paper",
             "--broker", f"mqtts://orchestrator@localhost:{broker.port}",
             "--broker-ca", str(d.ca), "--broker-password-file", str(tmp_path / "pw")],
            capture_output=True, text=True, timeout=60,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])})
    assert res.returncode == 2, res.stderr[-2000:]
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith("aaas orchestrator: error: the broker at mqtts://") \
        and "refused 'orchestrator'" in last, res.stderr[-2000:]


@pytest.mark.mosquitto
def test_demo_secure_accounts_for_every_task(tmp_path: Path) -> None:
    out = tmp_path / "summary.json"
    res = subprocess.run(
        [sys.executable, "-m", "testbed.cli", "--log-level", "WARNING", "demo", "--secure",
         "--scenario", "paper", "--users", "12", "--duration", "60000", "--no-progress",
         "--json", str(out), "--security-dir", str(tmp_path / "sec")],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])})
    assert res.returncode == 0, res.stderr[-3000:]
    tasks = json.loads(out.read_text())["tasks"]
    assert tasks["sent"] > 0
    assert sum(v for k, v in tasks.items() if k != "sent") == tasks["sent"], tasks
    assert tasks["lost"] == 0, tasks
    # It ran on the identities it issued: one per user, node and process.
    assert (tmp_path / "sec" / "secrets" / "user-0011.password").exists()
    assert "returning true from eof_received" not in res.stderr


@pytest.mark.mosquitto
def test_separate_processes_on_a_secure_broker(tmp_path: Path) -> None:
    """The testbed's commands, each logging in as its own identities over TLS."""
    scen = tmp_path / "tiny.toml"
    scen.write_text('name = "tiny"\nseed = 3\n[asps]\ncount = 2\n'
                    '[workload]\nusers = 4\nhorizon_s = 40000\narrival_rate = 0.0003\n')
    sec = tmp_path / "sec"
    assert main(["security", "init", "--scenario", str(scen), "--out", str(sec)]) == 0
    env = {**os.environ, "PYTHONUNBUFFERED": "1",
           "PYTHONPATH": str(Path(__file__).parents[2])}
    with SecureMosquitto(sec, workdir=tmp_path) as broker:
        common = ["--broker", f"mqtts://localhost:{broker.port}", "--broker-ca",
                  str(sec / "ca.pem"), "--broker-secrets", str(sec / "secrets"),
                  "--scenario", str(scen)]

        def aaas(*args: str) -> list[str]:
            return [sys.executable, "-m", "testbed.cli", "--log-level", "WARNING", *args]

        orch = subprocess.Popen(aaas("orchestrator", *common, "--time-scale", "20000"),
                                env=env, stderr=subprocess.PIPE)
        nodes = subprocess.Popen(aaas("edge-node", *common, "--follow-clock"), env=env,
                                 stderr=subprocess.PIPE)
        try:
            out = tmp_path / "qos.json"
            users = subprocess.run(aaas("user-agent", *common, "--follow-clock", "--json",
                                        str(out)), env=env, capture_output=True, timeout=120,
                                   check=False)
            assert users.returncode == 0, users.stderr.decode()[-2000:]
            tasks = json.loads(out.read_text())["tasks"]
            assert tasks["sent"] > 0 and tasks["finished"] == tasks["sent"], tasks
        finally:
            for proc in (orch, nodes):
                proc.send_signal(signal.SIGINT)
            codes = [p.wait(20) for p in (orch, nodes)]
        assert codes == [0, 0], [p.stderr.read().decode()[-2000:] for p in (orch, nodes)
                                 if p.stderr is not None]
