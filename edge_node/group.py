"""Several edge nodes in one process (a GPU server can host a few ASPs)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Sequence

from aaas import AspSpec, BrokerURL, ConfigError, EmulatedClock, Scenario
from aaas.datachannel import DeliverySettings
from aaas.lag import LagMeter
from monitoring import DeliveryMetrics, EdgeMetrics

from .backends import BACKENDS, InpaintBackend, check_backends
from .node import EdgeNode

__all__ = ["check_backends", "make_backend", "start_nodes"]


def make_backend(spec: AspSpec, *, scenario: Scenario, clock: EmulatedClock,
                 device: str | None = None) -> InpaintBackend:
    """The backend an ASP's spec asks for, from the registry (see :func:`check_backends`)."""
    check_backends([spec.backend])
    plugin = BACKENDS.get(spec.backend)
    try:
        return plugin.factory(spec, scenario=scenario, clock=clock, device=device)
    except ImportError as exc:  # installed, but broken: still one line
        raise ConfigError(f"backend {spec.backend!r} could not be loaded ({exc}): "
                          f"{plugin.install_hint()}") from None


@contextlib.asynccontextmanager
async def start_nodes(*, scenario: Scenario, specs: Sequence[AspSpec], url: BrokerURL,
                      clock: EmulatedClock, metrics: EdgeMetrics,
                      device: str | None = None,
                      keepalive: int = 30,
                      lag: LagMeter | None = None,
                      delivery: DeliverySettings | None = None,
                      delivery_metrics: DeliveryMetrics | None = None,
                      ) -> AsyncIterator[list[EdgeNode]]:
    """Start one EdgeNode per spec; stops them all (offline status) on exit.

    *lag*: one lag meter for every node of the process (default: one each)."""
    check_backends(s.backend for s in specs)  # every node's, before any starts
    async with contextlib.AsyncExitStack() as stack:
        nodes = []
        for spec in specs:
            backend = make_backend(spec, scenario=scenario, clock=clock, device=device)
            node = EdgeNode(spec=spec, scenario=scenario, url=url, clock=clock, backend=backend,
                            metrics=metrics, logger=logging.getLogger(f"aaas.edge.{spec.id}"),
                            keepalive=keepalive, lag=lag,
                            delivery=delivery, delivery_metrics=delivery_metrics)
            nodes.append(await stack.enter_async_context(node))
        yield nodes
