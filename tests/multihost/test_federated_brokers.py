"""Federated brokers: two edge sites with a Mosquitto each, bridged to a core Mosquitto.

Site A and site B each have half the users and half the edge nodes on their own broker;
the orchestrator is on the core. The bridges are the ones ``broker.bridge`` makes from
the contract. Tasks cross sites (a user at A served by a node at B goes A -> core -> B
and back), and every task is accounted for. The added latency of one and two bridge
hops is measured against a single broker and printed.
"""

from __future__ import annotations

import json
import os
import queue
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from prometheus_client.parser import text_string_to_metric_families

from aaas import TOPICS, BrokerURL, load_scenario
from broker import MosquittoProcess, free_port, mosquitto_exe
from broker.bridge import bridge_config, bridge_topics, direction
from testbed.netns import Netns
from tests.helpers.brokers import require_mosquitto

OUTCOMES = ("finished", "crashed", "rejected", "error", "lost", "undeliverable")
PROBE_BYTES = 16_000  # about a request's or a result's size (a 64x64 image and its mask)


def test_bridge_directions_follow_the_route_table() -> None:
    want = {"request": "out", "result": "both", "user_error": "in", "assign": "in",
            "event": "out", "load": "out", "status": "both", "node_error": "out",
            "clock": "in", "link_control": "in",
            # an ack goes to the orchestrator (core) and to nodes (any site); the WebRTC
            # signalling runs between a node and a user that may be at different sites
            "ack": "both", "rtc_offer": "both", "rtc_answer": "both",
            # content and its refusals run between a user and a node too
            "content": "both", "content_error": "both"}
    assert {r.name: direction(r) for r in TOPICS.all()} == want
    assert all(line.endswith(" 1") for line in bridge_topics())  # the routes' QoS


def test_shipped_bridge_example_is_generated() -> None:
    shipped = Path(__file__).parents[2] / "broker" / "mosquitto-bridge.conf.example"
    made = bridge_config(site="site-a", core=BrokerURL(host="core.aaas.lan", port=1883))
    assert shipped.read_text() == made, "regenerate: python -m broker.bridge --site site-a " \
        "--core mqtt://core.aaas.lan:1883 > broker/mosquitto-bridge.conf.example"


def _client(url: BrokerURL, name: str) -> mqtt.Client:
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=name,
                    protocol=mqtt.MQTTv311)
    c.connect(url.host, url.port)
    c.loop_start()
    return c


def _wait_bridge(url: BrokerURL, site: str, timeout: float = 20) -> None:
    """Until the site broker says its bridge is connected (notifications)."""
    got: queue.Queue[bytes] = queue.Queue()
    c = _client(url, f"probe-bridge-{site}")
    c.on_message = lambda _c, _u, m: got.put(m.payload)
    c.subscribe(f"$SYS/broker/connection/aaas-bridge-{site}/state", 1)
    deadline = time.monotonic() + timeout
    try:
        while got.get(timeout=max(0.1, deadline - time.monotonic())) != b"1":
            pass
    except queue.Empty:
        raise TimeoutError(f"the bridge of {site} did not connect within {timeout:g} s") \
            from None
    finally:
        c.loop_stop()
        c.disconnect()


def _latency_ms(pub_url: BrokerURL, sub_url: BrokerURL, topic: str, n: int = 200) -> list[float]:
    """One-way times of n QoS 1 messages (same machine, one clock), publisher to subscriber."""
    got: queue.Queue[float] = queue.Queue()
    sub = _client(sub_url, "probe-sub")
    sub.on_message = lambda _c, _u, _m: got.put(time.perf_counter())
    sub.subscribe(topic, 1)
    pub = _client(pub_url, "probe-pub")
    payload = os.urandom(PROBE_BYTES)
    try:
        deadline = time.monotonic() + 20  # the bridges' subscriptions take a moment
        while True:
            pub.publish(topic, payload, qos=1).wait_for_publish(5)
            try:
                got.get(timeout=0.5)
                break
            except queue.Empty:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"nothing arrived on {topic} across the bridge") \
                        from None
        time.sleep(0.5)
        while not got.empty():
            got.get()
        samples = []
        for _ in range(n):
            t0 = time.perf_counter()
            pub.publish(topic, payload, qos=1)
            samples.append((got.get(timeout=10) - t0) * 1000)
        return samples
    finally:
        for c in (pub, sub):
            c.loop_stop()
            c.disconnect()


def _aaas(*args: str) -> list[str]:
    return [sys.executable, "-m", "testbed.cli", "--log-level", "WARNING", *args]


def _decisions(port: int) -> dict[str, float]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    return {s.labels["node"]: s.value for fam in text_string_to_metric_families(text)
            if fam.name == "aaas_orchestrator_decisions"
            for s in fam.samples if s.name.endswith("_total")}


def _url(b: BrokerURL) -> str:
    return f"mqtt://{b.host}:{b.port}"


@pytest.mark.mosquitto
@pytest.mark.slow
@pytest.mark.timeout(150)
def test_two_sites_bridged_to_a_core(tmp_path: Path) -> None:
    require_mosquitto()
    for d in ("core", "site-a", "site-b"):
        (tmp_path / d).mkdir()
    with MosquittoProcess(workdir=tmp_path / "core") as core, \
            MosquittoProcess(workdir=tmp_path / "site-a", config=bridge_config(
                site="site-a", core=core.url, keepalive_s=10)) as site_a, \
            MosquittoProcess(workdir=tmp_path / "site-b", config=bridge_config(
                site="site-b", core=core.url, keepalive_s=10)) as site_b:
        _wait_bridge(site_a.url, "site-a")
        _wait_bridge(site_b.url, "site-b")
        req = TOPICS.request.topic.format(user_id="probe-0")
        res = TOPICS.result.topic.format(user_id="probe-0")
        lat = {"one broker": _latency_ms(core.url, core.url, req),
               "site -> core (1 bridge)": _latency_ms(site_a.url, core.url, req),
               "site A -> core -> site B (2 bridges)": _latency_ms(site_a.url, site_b.url, res)}
        base = statistics.median(lat["one broker"])
        print(f"\nQoS 1 one-way latency of {PROBE_BYTES} B messages, ms (median / p95):")
        for k, v in lat.items():
            p95 = statistics.quantiles(v, n=20)[-1]
            print(f"  {k:38} {statistics.median(v):6.2f} / {p95:6.2f}  "
                  f"(added: {statistics.median(v) - base:+.2f})")

        _run_sites(tmp_path, core.url, {"site-a": site_a.url, "site-b": site_b.url})


def _run_sites(tmp_path: Path, core: BrokerURL, sites: dict[str, BrokerURL]) -> None:
    ids = [a.id for a in load_scenario("paper").asps]
    groups = {"site-a": ids[0::2], "site-b": ids[1::2]}
    clock = ["--scenario", "paper", "--time-scale", "10000", "--clock-epoch", repr(time.time())]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    mport = free_port()
    procs = [subprocess.Popen(_aaas("orchestrator", "--broker", _url(core), *clock,
                                    "--policy", "least_loaded", "--metrics-port", str(mport)),
                              env=env, stderr=(tmp_path / "orchestrator.log").open("wb"))]
    for site, url in sites.items():
        procs.append(subprocess.Popen(_aaas("edge-node", "--broker", _url(url), *clock,
                                            "--nodes", ",".join(groups[site])), env=env,
                                      stderr=(tmp_path / f"edge-{site}.log").open("wb")))
    try:
        # The paper's population and rate (1000 users, 20 ASPs), 150,000 emulated s at x10000.
        users = [subprocess.Popen(_aaas("user-agent", "--broker", _url(url), *clock,
                                        "--shard", f"{k}/2", "--duration", "150000",
                                        "--json", str(tmp_path / f"{site}.json")),
                                  env=env, stdout=subprocess.DEVNULL,
                                  stderr=(tmp_path / f"users-{site}.log").open("wb"))
                 for k, (site, url) in enumerate(sites.items())]
        codes = [u.wait(110) for u in users]
        assert codes == [0, 0], [(tmp_path / f"users-{s}.log").read_text()[-2000:] for s in sites]
        decisions = _decisions(mport)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(20)
    totals = {k: sum(json.loads((tmp_path / f"{s}.json").read_text())["tasks"][k]
                     for s in sites) for k in ("sent", *OUTCOMES)}
    print(f"tasks across two sites: {totals}")
    assert totals["sent"] > 0
    assert sum(totals[o] for o in OUTCOMES) == totals["sent"], totals
    # No faults here: every task finishes, whichever site its node is at.
    assert totals["finished"] == totals["sent"], totals
    for site, group in groups.items():
        assert sum(decisions.get(n, 0) for n in group) > 0, (site, decisions)


class _Host:
    """Mosquitto clients run on one namespaced host."""

    def __init__(self, net: Netns, host: str) -> None:
        self.net, self.host = net, host

    def run(self, *argv: str, stdin: str | None = None) -> str:
        return subprocess.run(self.net.command(self.host, list(argv)), input=stdin,
                              capture_output=True, text=True, timeout=30, check=True).stdout

    def broker_up(self) -> bool:
        return subprocess.run(self.net.command(self.host, [
            "mosquitto_pub", "-h", "127.0.0.1", "-t", "probe/up", "-m", "1"]),
            capture_output=True, timeout=30, check=False).returncode == 0

    def publish(self, topic: str, payloads: list[str]) -> None:
        # -l: one QoS 1 message per line of stdin, from one client.
        self.run("mosquitto_pub", "-h", "127.0.0.1", "-q", "1", "-t", topic, "-l",
                 stdin="".join(f"{p}\n" for p in payloads))



def _until(what: str, cond: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} within {timeout:g} s")
        time.sleep(0.3)


@pytest.mark.mosquitto
@pytest.mark.timeout(120)
def test_a_site_uplink_outage_loses_no_qos1_message(netns: Netns, tmp_path: Path) -> None:
    """The bridge's persistent session: what is sent either way while the site's uplink
    is down (before and after the bridge noticed) arrives once it is back."""
    require_mosquitto()
    core_addr = netns.add_host("core")
    netns.add_host("site")
    exe = mosquitto_exe() or "mosquitto"
    base = ("listener 1883 0.0.0.0\nallow_anonymous true\nmax_queued_messages 0\n"
            "max_inflight_messages 0\n")
    (tmp_path / "core.conf").write_text(base)
    (tmp_path / "site.conf").write_text(base + bridge_config(
        site="site-a", core=BrokerURL(host=core_addr, port=1883), keepalive_s=4,
        restart_s=(1, 2)))
    for host in ("core", "site"):
        netns.spawn(host, [exe, "-c", str(tmp_path / f"{host}.conf")],
                    log=tmp_path / f"{host}-mosquitto.log")
    core, site = _Host(netns, "core"), _Host(netns, "site")
    for h in (core, site):
        _until(f"{h.host}'s broker listening", h.broker_up, 20)
    # The bridge's state at the core: "1" when it connects, "0" its last will, published
    # by the core when the bridge went silent for 1.5 keepalives (notifications true).
    states = tmp_path / "bridge-state.txt"
    netns.spawn("core", ["mosquitto_sub", "-h", "127.0.0.1", "-t",
                         "$SYS/broker/connection/aaas-bridge-site-a/state"], log=states)

    def bridge(state: str) -> Callable[[], bool]:
        return lambda: states.exists() and states.read_text().split()[-1:] == [state]
    _until("the site's bridge connected", bridge("1"), 30)

    request = TOPICS.request.topic.format(user_id="user-0001")  # out: site -> core
    assign = TOPICS.assign.topic.format(node_id="asp-00", user_id="user-0001")  # core -> site
    at_core, at_site = tmp_path / "at-core.txt", tmp_path / "at-site.txt"
    for h, topic, out in ((core, request, at_core), (site, assign, at_site)):
        netns.spawn(h.host, ["mosquitto_sub", "-h", "127.0.0.1", "-q", "1", "-t", topic],
                    log=out)

    def seen(path: Path) -> set[str]:
        return set(path.read_text().split()) if path.exists() else set()

    # Both subscriptions work end to end before anything is cut.
    def probes_through() -> bool:
        site.publish(request, ["probe"])
        core.publish(assign, ["probe"])
        return "probe" in seen(at_core) and "probe" in seen(at_site)
    _until("probes crossed the bridge", probes_through, 30)

    sent_up: list[str] = []
    sent_down: list[str] = []

    def burst(phase: str) -> None:
        up = [f"req-{phase}-{i}" for i in range(10)]
        down = [f"asg-{phase}-{i}" for i in range(10)]
        site.publish(request, up)
        core.publish(assign, down)
        sent_up.extend(up)
        sent_down.extend(down)

    burst("before")
    netns.cut("site")
    burst("cut")  # the bridge has not noticed yet: these go into a dead TCP connection
    _until("the core noticed the dead uplink", bridge("0"), 30)
    burst("down")  # queued: at the site for the bridge, at the core for its session
    netns.restore("site")
    _until("the bridge reconnected", bridge("1"), 40)
    _until("everything sent during the outage arrived",
           lambda: set(sent_up) <= seen(at_core) and set(sent_down) <= seen(at_site), 30)
