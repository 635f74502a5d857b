"""AaaS edge emulator: the shared vocabulary.

The MQTT contract (topics and payload schemas), scenario loading, the emulated
clock, the paper's quality/runtime/crash models and the MQTT session every
process uses. The CLI entry point is :mod:`testbed.cli`.
"""

from .clock import EmulatedClock
from .config import (
    AspSpec,
    Limits,
    Range,
    Repeats,
    Scenario,
    ScenarioFile,
    Workload,
    load_scenario,
    parse_scenario,
    scenario_names,
)
from .contract import NO_NODE, ROOT, TOPICS, Role, Route, decode, encode
from .dispatch import Dispatcher, Incoming, Params
from .errors import AaasError, ConfigError, ProtocolError
from .models import CrashRule, QualityCurve, RuntimeModel
from .mqtt import BrokerURL, MqttSession, Outgoing
from .replies import error_reply, guess_task_id
from .schemas import (
    SCHEMA_VERSION,
    Assignment,
    ClockSpec,
    ContentPath,
    ErrorCode,
    ErrorInfo,
    ErrorReply,
    GilbertPatch,
    LinkProfilePatch,
    LinkUpdate,
    LostTask,
    NodeLoad,
    NodeStatus,
    Outcome,
    RtcAnswer,
    RtcOffer,
    TaskAck,
    TaskContent,
    TaskEvent,
    TaskRequest,
    TaskResult,
    TaskStatus,
    Timings,
)
from .topics import TopicTemplate

__all__ = [
    "NO_NODE",
    "ROOT",
    "SCHEMA_VERSION",
    "TOPICS",
    "AaasError",
    "AspSpec",
    "Assignment",
    "BrokerURL",
    "ClockSpec",
    "ConfigError",
    "ContentPath",
    "CrashRule",
    "Dispatcher",
    "EmulatedClock",
    "ErrorCode",
    "ErrorInfo",
    "ErrorReply",
    "GilbertPatch",
    "Incoming",
    "Limits",
    "LinkProfilePatch",
    "LinkUpdate",
    "LostTask",
    "MqttSession",
    "NodeLoad",
    "NodeStatus",
    "Outcome",
    "Outgoing",
    "Params",
    "ProtocolError",
    "QualityCurve",
    "Range",
    "Repeats",
    "Role",
    "Route",
    "RtcAnswer",
    "RtcOffer",
    "RuntimeModel",
    "Scenario",
    "ScenarioFile",
    "TaskAck",
    "TaskContent",
    "TaskEvent",
    "TaskRequest",
    "TaskResult",
    "TaskStatus",
    "Timings",
    "TopicTemplate",
    "Workload",
    "decode",
    "encode",
    "error_reply",
    "guess_task_id",
    "load_scenario",
    "parse_scenario",
    "scenario_names",
]
