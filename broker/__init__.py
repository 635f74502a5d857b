"""Brokers: the embedded amqtt broker, Mosquitto config, and (later) the wireless link."""

from ._embedded import EmbeddedBroker, free_port

__all__ = ["EmbeddedBroker", "free_port"]
