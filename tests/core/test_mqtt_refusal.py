"""Which MQTT errors mean "the broker refused our credentials" (fail fast, one line) and
which are network faults (reconnect). A broker restart must never look like a refusal."""

from __future__ import annotations

import pytest
from aiomqtt import MqttCodeError, MqttError
from aiomqtt.exceptions import MqttConnectError

from aaas.mqtt import is_refusal


@pytest.mark.parametrize("rc", [4, 5, 134, 135])
def test_a_connack_refusal_is_a_refusal(rc: int) -> None:
    assert is_refusal(MqttConnectError(rc))


def test_a_connack_for_an_unavailable_server_is_not() -> None:
    assert not is_refusal(MqttConnectError(3))  # server unavailable: try again


def test_a_lost_connection_is_not_a_refusal() -> None:
    # paho's MQTT_ERR_NO_CONN is 4 too, the number of CONNACK's "bad user name or
    # password": a broker killed under a session raises this on the next operation.
    assert not is_refusal(MqttCodeError(4, "Unexpected disconnection"))
    assert not is_refusal(MqttError("Disconnected during message iteration"))
