"""docs/protocol.md's tables equal the contract: every route and every error code, both ways."""

from __future__ import annotations

import re
from pathlib import Path

from aaas import TOPICS, ErrorCode, Role

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def _table(name: str) -> list[list[str]]:
    """The rows (cells stripped) of the table between <!-- name:start --> and :end."""
    block = re.search(rf"<!-- {name}:start -->\n(.*?)<!-- {name}:end -->", DOC.read_text(), re.S)
    assert block, f"docs/protocol.md lost its {name} table"
    lines = [ln for ln in block.group(1).splitlines() if ln.startswith("|")]
    return [[c.strip() for c in ln.strip("|").split("|")] for ln in lines[2:]]


def _roles(cell: str) -> frozenset[Role]:
    # "edge_node, orchestrator (rejections, ...)": the roles, without the remarks.
    return frozenset(Role(r.strip()) for r in re.sub(r"\(.*?\)", "", cell).split(","))


def test_route_table_equals_the_contract() -> None:
    doc = set()
    for topic, payload, qos, retained, senders, receivers in _table("routes"):
        doc.add((topic.strip("`"), payload, int(qos), retained.split()[0] == "yes",
                 _roles(senders), _roles(receivers)))
    code = {(r.topic.template, r.payload.__name__, r.qos, r.retain, r.senders, r.receivers)
            for r in TOPICS.all()}
    assert doc - code == set(), "in docs/protocol.md, not in aaas.TOPICS"
    assert code - doc == set(), "in aaas.TOPICS, not in docs/protocol.md"


def test_error_code_table_equals_the_enum() -> None:
    doc = {code.strip("`") for code, _meaning in _table("error-codes")}
    assert doc == {c.value for c in ErrorCode}
