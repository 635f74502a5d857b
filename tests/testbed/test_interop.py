"""docs/protocol.md's mosquitto_pub/mosquitto_sub example drives a real task."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from aaas import TOPICS, BrokerURL
from tests.helpers.stack import running_stack, small_scenario

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def _doc_script() -> str:
    text = DOC.read_text()
    block = re.search(r"<!-- interop:start -->\s*```bash\n(.*?)```\s*<!-- interop:end -->",
                      text, re.S)
    assert block, "docs/protocol.md lost its interop example"
    return block.group(1)


def test_protocol_doc_lists_every_topic() -> None:
    text = DOC.read_text()
    for route in TOPICS.all():
        assert f"`{route.topic.template}`" in text, route.topic.template


@pytest.mark.mosquitto
async def test_doc_example_gets_a_result_from_mosquitto_clients(mosquitto: BrokerURL,
                                                               tmp_path: Path) -> None:
    import asyncio

    async with running_stack(mosquitto, small_scenario(asps=2, users=5), scale=10_000):
        proc = await asyncio.create_subprocess_exec(
            "bash", "-euo", "pipefail", "-c", _doc_script(), cwd=tmp_path,
            env={**os.environ, "BROKER_PORT": str(mosquitto.port)},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 90)
    assert proc.returncode == 0, err.decode()
    assert '"status":"ok"' in out.decode()
    head, _, image = (tmp_path / "result.bin").read_bytes().partition(b"\n")
    result = json.loads(head)
    assert result["task_id"] == "by-hand-1" and image  # the restored PNG, attached
