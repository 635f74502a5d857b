"""`aaas link` as a process: relays a client to Mosquitto, serves metrics, stops on SIGINT."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import urllib.request

import paho.mqtt.client as paho
import paho.mqtt.subscribe as subscribe
import pytest

from aaas import BrokerURL
from broker import free_port


def _wait_port(port: int, limit_s: float = 20.0) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port}")


@pytest.mark.mosquitto
def test_aaas_link_process(link_mosquitto: BrokerURL) -> None:
    listen, metrics = free_port(), free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "testbed.cli", "link", "--upstream",
         f"mqtt://127.0.0.1:{link_mosquitto.port}", "--listen", f"127.0.0.1:{listen}",
         "--metrics-port", str(metrics), "--time-scale", "100"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_port(listen)
        _wait_port(metrics)
        pub = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="user-cli-1")
        pub.connect("127.0.0.1", listen)
        pub.loop_start()
        info = pub.publish("cli/t", b"through the link", qos=1)
        info.wait_for_publish(20)
        assert info.is_published()
        pub.disconnect()
        pub.loop_stop()
        # Retained, read back directly from the broker.
        pub2 = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="user-cli-2")
        pub2.connect("127.0.0.1", listen)
        pub2.loop_start()
        pub2.publish("cli/r", b"kept", qos=1, retain=True).wait_for_publish(20)
        pub2.disconnect()
        pub2.loop_stop()
        msg = subscribe.simple("cli/r", hostname="127.0.0.1", port=link_mosquitto.port)
        assert msg.payload == b"kept"
        body = urllib.request.urlopen(f"http://127.0.0.1:{metrics}/metrics", timeout=5).read()
        text = body.decode()
        assert 'aaas_link_bytes_on_air_total{direction="up",kind="payload"}' in text
        assert "aaas_link_connections_opened_total 2.0" in text
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
    assert proc.returncode in (0, 130), out
    assert "link totals" in out
