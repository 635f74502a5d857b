"""Serve a registry on ``/metrics`` (prometheus_client's own HTTP server)."""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server

__all__ = ["MetricsServer"]


class MetricsServer:
    """``/metrics`` of *registry* on host:port (port 0: a free port) while entered."""

    def __init__(self, registry: CollectorRegistry, *, host: str = "127.0.0.1", port: int = 0,
                 logger: logging.Logger | None = None) -> None:
        self.registry = registry
        self.host = host
        self.port = port
        self.logger = logger or logging.getLogger("aaas.metrics")
        self._server: Any = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def __enter__(self) -> MetricsServer:
        server, _thread = start_http_server(self.port, addr=self.host, registry=self.registry)
        self._server = server
        self.port = int(server.server_port)
        self.logger.info("serving metrics on %s", self.url)
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
