"""The composition root: the ``aaas`` command, the demo and the runners.

This is the only package that wires services together (broker, link, edge
nodes, orchestrator, user agents, monitoring). The services depend on the
vocabulary (:mod:`aaas`) and on :mod:`monitoring`, never on each other or on
this package; the layer contracts in ``pyproject.toml`` (import-linter) enforce it.
"""
