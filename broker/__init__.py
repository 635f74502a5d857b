"""Brokers: the embedded amqtt broker, a local Mosquitto, Mosquitto testbed config,
and the emulated wireless link (``broker.link``)."""

from .embedded import EmbeddedBroker, free_port
from .mosquitto import MosquittoProcess, mosquitto_exe, wait_port

__all__ = ["EmbeddedBroker", "MosquittoProcess", "free_port", "mosquitto_exe", "wait_port"]
