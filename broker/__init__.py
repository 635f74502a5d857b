"""Brokers: the embedded amqtt broker, a local Mosquitto, Mosquitto testbed config,
and the emulated wireless link (``broker.link``)."""

from ._embedded import EmbeddedBroker, free_port
from ._mosquitto import MosquittoProcess, mosquitto_exe, wait_port

__all__ = ["EmbeddedBroker", "MosquittoProcess", "free_port", "mosquitto_exe", "wait_port"]
