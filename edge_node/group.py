"""Several edge nodes in one process (a GPU server can host a few ASPs)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Sequence

from aaas import AspSpec, BrokerURL, ConfigError, EmulatedClock, Scenario
from monitoring import EdgeMetrics

from .backends import InpaintBackend, ModeledBackend
from .node import EdgeNode

__all__ = ["make_backend", "start_nodes"]


def make_backend(spec: AspSpec, *, scenario: Scenario, clock: EmulatedClock,
                 device: str | None = None) -> InpaintBackend:
    """The backend an ASP's spec asks for."""
    if spec.backend == "modeled":
        return ModeledBackend(clock=clock, runtime=scenario.runtime)
    if spec.backend == "repaint":
        if not spec.model:
            raise ConfigError(f"ASP {spec.id} uses the repaint backend but names no model "
                              "(set model = DIR or hub id in its [[asps.override]])")
        try:
            from .backends.repaint import load_repaint_backend
        except ImportError as exc:
            raise ConfigError(f"the repaint backend needs the edge extra "
                              f"(pip install 'aaas-edge-emulator[edge]'): {exc}") from None
        return load_repaint_backend(model=spec.model, clock=clock, device=device)
    raise ConfigError(f"unknown backend {spec.backend!r}")


@contextlib.asynccontextmanager
async def start_nodes(*, scenario: Scenario, specs: Sequence[AspSpec], url: BrokerURL,
                      clock: EmulatedClock, metrics: EdgeMetrics,
                      device: str | None = None) -> AsyncIterator[list[EdgeNode]]:
    """Start one EdgeNode per spec; stops them all (offline status) on exit."""
    async with contextlib.AsyncExitStack() as stack:
        nodes = []
        for spec in specs:
            backend = make_backend(spec, scenario=scenario, clock=clock, device=device)
            node = EdgeNode(spec=spec, scenario=scenario, url=url, clock=clock, backend=backend,
                            metrics=metrics, logger=logging.getLogger(f"aaas.edge.{spec.id}"))
            nodes.append(await stack.enter_async_context(node))
        yield nodes
