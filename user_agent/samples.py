"""A sample of the results the users received, kept as they came (``aaas demo
--json-samples N``; ``aaas report`` shows them): per node, the first N finished tasks'
original, damaged image, mask and the restored image the user checked."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from aaas.images import encode_png

__all__ = ["ResultSamples"]


@dataclass(kw_only=True)
class ResultSamples:
    """Up to *per_node* received results per node (PNG bytes: bounded and cheap)."""

    per_node: int
    kept: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """node id -> its samples, in the order they came."""

    def wants(self, node_id: str) -> bool:
        return len(self.kept.get(node_id, ())) < self.per_node

    def offer(self, *, task_id: str, node_id: str, domain: str, steps: int, clean: Any,
              damaged: bytes, mask: bytes, restored: bytes) -> None:
        """Keep this result if its node has fewer than *per_node* (clean: H×W×3 uint8,
        or None when the record no longer has it)."""
        if not self.wants(node_id):
            return
        self.kept.setdefault(node_id, []).append({
            "task_id": task_id, "node_id": node_id, "domain": domain, "steps": steps,
            "original": _b64(encode_png(clean)) if clean is not None else None,
            "damaged": _b64(damaged), "mask": _b64(mask), "restored": _b64(restored)})

    def as_json(self, labels: dict[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """Every sample (PNG as base64), with its node's *labels* (backend, model) added."""
        labels = labels or {}
        return [{**s, **labels.get(node, {})} for node in sorted(self.kept)
                for s in self.kept[node]]


def _b64(png: bytes) -> str:
    return base64.b64encode(png).decode("ascii")
