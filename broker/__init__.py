"""Brokers: the embedded amqtt broker, a local Mosquitto, Mosquitto testbed config,
the secure broker (``broker.security``) and the bridge. The emulated wireless link is a
service of its own (the ``link`` package)."""

from .embedded import EmbeddedBroker, free_port
from .mosquitto import MosquittoProcess, mosquitto_exe, wait_port

__all__ = ["EmbeddedBroker", "MosquittoProcess", "free_port", "mosquitto_exe", "wait_port"]
