"""Scenario files: TOML testbeds decoded into typed, validated config.

A scenario fixes the physical testbed (its ASPs: capacity, quality curve,
backend), the workload (users, Poisson arrivals, steps), the runtime model, the
crash rule, the input limits and the wireless link. The TOML file is decoded by
msgspec into the Structs below, whose field defaults are the only defaults (a
key left out of the file takes them; an unknown key is an error naming it).
The ASPs are then drawn once from the scenario's seed, so every process that
loads the same file sees the same ASPs.

The shipped scenarios are package data (``aaas/scenarios/*.toml``), found
through :mod:`importlib.resources` in every install; ``paper.toml`` explains
every key. See ``docs/scenarios.md``.
"""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
from msgspec import Struct, field

from .errors import ConfigError
from .models import CrashRule, QualityCurve, RuntimeModel

__all__ = [
    "AspOverride",
    "AspPopulation",
    "AspSpec",
    "Domains",
    "Limits",
    "Range",
    "Repeats",
    "Scenario",
    "ScenarioFile",
    "Workload",
    "load_scenario",
    "parse_scenario",
    "scenario_dir",
    "scenario_names",
]

DEFAULT_BACKEND = "modeled"

TIMINGS = ("measured", "model")
"""How long a task of a computing backend (``repaint``) takes: ``measured`` (its wall time
× the clock's scale) or ``model`` (the scenario's runtime(t) from admission, the real
inference running meanwhile; when it takes longer, the node's finish lag shows it)."""


def _positive(table: Struct, *names: str) -> None:
    for name in names:
        value = getattr(table, name)
        if value is not None and not value > 0:
            raise ValueError(f"{name} must be > 0, got {value!r}")


def _check_timing(timing: str | None) -> None:
    if timing is not None and timing not in TIMINGS:
        raise ValueError(f"unknown timing {timing!r}: one of {', '.join(TIMINGS)}")


def _check_backend(backend: str | None) -> None:
    # Which backends exist is edge_node's registry's business (a backend may come from
    # another package); the vocabulary only checks that the name has the shape of one.
    if backend is not None and not backend.isidentifier():
        raise ValueError(f"unknown backend {backend!r}: a backend name is an identifier "
                         "(letters, digits, _), such as modeled or repaint")


# Every TOML table decodes into a Struct that is keyword-only, immutable, and
# forbids unknown fields, so that a typo in a key is an error that names it.


class Range(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Values from ``min`` to ``max``: a grid when ``step`` is set, else continuous."""

    min: float
    """Smallest value."""
    max: float
    """Largest value (drawn only on an ``inclusive`` grid)."""
    step: float | None = None
    """Grid spacing; none: uniform on [min, max)."""
    inclusive: bool = False
    """Whether ``max`` itself can be drawn (grids only)."""

    def __post_init__(self) -> None:
        if self.max < self.min:
            raise ValueError(f"max < min ({self.max} < {self.min})")
        _positive(self, "step")

    def grid(self) -> np.ndarray:
        if self.step is None:
            raise ConfigError("a continuous range has no grid")
        n = int(np.floor((self.max - self.min) / self.step + 1e-9)) + 1
        values = self.min + self.step * np.arange(n)
        if not self.inclusive:
            values = values[values < self.max - 1e-12]
        return values

    def draw(self, rng: np.random.Generator) -> float:
        if self.step is None:
            return float(rng.uniform(self.min, self.max))
        return float(rng.choice(self.grid()))


class AspOverride(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``[[asps.override]]``: pins some properties of the ASP at ``index``."""

    index: int
    """Which drawn ASP (0-based)."""
    id: str | None = None
    """A new node id."""
    capacity: int | None = None
    """A fixed capacity C_i."""
    ax: float | None = None
    """Fixed quality-curve parameters (each one left out keeps its draw)."""
    ay: float | None = None
    bx: float | None = None
    by: float | None = None
    backend: str | None = None
    """Another backend for this ASP, e.g. ``repaint`` on a GPU node."""
    model: str | None = None
    """For ``repaint``: a local directory or a hub id."""
    timing: str | None = None
    """For ``repaint``: ``measured`` or ``model`` (:data:`TIMINGS`)."""
    specialty: str | None = None
    """With ``[domains]``: the domain this ASP is a specialist of, or ``generalist``."""
    skill: dict[str, float] | None = None
    """With ``[domains]``: fixed skills per domain name (each one left out keeps its draw)."""

    def __post_init__(self) -> None:
        _positive(self, "capacity")
        _check_backend(self.backend)
        _check_timing(self.timing)


class AspPopulation(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``[asps]``: how many ASPs, and the ranges their properties are drawn from."""

    count: int = 20
    """Number of ASPs (edge nodes)."""
    capacity: Range = Range(min=600.0, max=1500.0, step=100.0, inclusive=True)
    """C_i, total diffusion steps an ASP runs at once (the paper's 600-1500)."""
    ax: Range = Range(min=0.0, max=100.0)
    """Quality-curve Ax, steps below which the content is worthless."""
    ay: Range = Range(min=0.0, max=0.5)
    """Quality-curve Ay."""
    bx: Range = Range(min=150.0, max=250.0)
    """Quality-curve Bx, steps above which more steps add nothing."""
    by: Range = Range(min=0.5, max=1.0)
    """Quality-curve By."""
    backend: str = DEFAULT_BACKEND
    """Backend of every ASP: ``modeled`` (runtime model + curve) or ``repaint``."""
    model: str | None = None
    """For ``repaint``: a local directory or a hub id."""
    timing: str = "measured"
    """For ``repaint``: a task takes its ``measured`` wall time × the scale, or the
    ``model``'s runtime(t) (:data:`TIMINGS`)."""
    override: tuple[AspOverride, ...] = ()
    """Changes to single ASPs, applied after the draw."""

    def __post_init__(self) -> None:
        _positive(self, "count")
        _check_backend(self.backend)
        _check_timing(self.timing)


GENERALIST = "generalist"
"""The specialty of an ASP that is not specialised in one domain."""


def _check_domain_names(names: tuple[str, ...]) -> None:
    if not names:
        raise ValueError("domains.names must name at least one domain")
    if len(set(names)) != len(names):
        raise ValueError(f"domains.names must be unique, got {list(names)}")
    for n in names:
        if not DOMAIN_NAME.fullmatch(n) or n == GENERALIST:
            raise ValueError(f"domain name {n!r} must be 1-32 lower-case letters, digits, "
                             f"'_' or '-', starting with a letter (and not {GENERALIST!r})")


DOMAIN_NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")
"""What a content domain's name looks like (it travels in every request)."""


class Domains(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``[domains]``: the content domains tasks belong to, and how well each ASP suits each.

    An ASP's quality curve on domain d is its drawn curve with the rise scaled by its
    *skill* on d: (Ax, s·Ay, Bx, s·By), so q_d(t) = s·q(t). The first ``specialists`` ×
    (number of domains) ASPs are specialists, the domains taking turns (ASP 0 of the
    first domain, ASP 1 of the second, ...); the rest are generalists. A specialist's
    skill on its own domain is drawn from ``own``, on the others from ``other``; a
    generalist's on every domain from ``generalist``. Each user's domain mix is drawn
    from a symmetric Dirichlet of concentration ``user_mix`` (:mod:`aaas.domains`).

    Left out, there is one domain, ``generic``, every skill is 1 and every ASP has its
    drawn curve: the paper's model, exactly.
    """

    names: tuple[str, ...] = ("generic",)
    """The domains, in order (their index is what the simulator and the policies see)."""
    user_mix: float = 1.0
    """Dirichlet concentration of each user's domain mix: below 1, most users send mostly
    one domain; 1, any mix is as likely; large, every user sends every domain alike."""
    specialists: int = 0
    """ASPs specialised in each domain; the rest are generalists."""
    own: Range = Range(min=0.9, max=1.0)
    """A specialist's skill on its own domain."""
    other: Range = Range(min=0.15, max=0.35)
    """A specialist's skill on the other domains."""
    generalist: Range = Range(min=0.55, max=0.75)
    """A generalist's skill on every domain."""

    def __post_init__(self) -> None:
        _check_domain_names(self.names)
        _positive(self, "user_mix")
        if self.specialists < 0:
            raise ValueError(f"domains.specialists must be >= 0, got {self.specialists}")
        for name in ("own", "other", "generalist"):
            r = getattr(self, name)
            if r.min < 0 or r.max > 1:
                raise ValueError(f"domains.{name} must lie in [0, 1], got {r.min:g}..{r.max:g}")

    @property
    def single(self) -> bool:
        """Whether there is one domain (the paper's model)."""
        return len(self.names) == 1

    def index(self, name: str) -> int:
        """The index of domain *name* (ConfigError names the known ones)."""
        try:
            return self.names.index(name)
        except ValueError:
            raise ConfigError(f"unknown domain {name!r}; this scenario's domains: "
                              f"{', '.join(self.names)}") from None


class AspSpec(Struct, frozen=True, kw_only=True):
    """One AIGC service provider (edge node), as drawn from the scenario."""

    id: str
    """Node id, also its MQTT client id and topic level."""
    capacity: int
    """C_i: total diffusion steps it can run at once."""
    curve: QualityCurve
    """Its drawn quality curve; its curve on each domain is in ``curves``."""
    curves: tuple[QualityCurve, ...] = ()
    """Its quality curve on each of the scenario's domains, in their order (the
    orchestrator does not know them); empty: ``curve`` on every domain."""
    specialty: str = GENERALIST
    """The domain it is a specialist of, or ``generalist``."""
    backend: str = DEFAULT_BACKEND
    """A name in edge_node's backend registry (``modeled``, ``repaint``, or one added by an
    entry point); edge_node checks it when a node starts."""
    model: str | None = None
    """For ``repaint``: a local directory or a hub id."""
    timing: str = "measured"
    """For ``repaint``: ``measured`` (wall time × scale) or ``model`` (runtime(t))."""

    def curve_for(self, domain: int = 0) -> QualityCurve:
        """Its quality curve on the scenario's domain number *domain*."""
        return self.curves[domain] if self.curves else self.curve


class Repeats(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``[workload.repeats]``: users who ask again when a result disappoints them.

    Each user has a quality threshold, drawn once per user from ``threshold`` (from
    the scenario's seed, so every process and the simulator agree: see
    :func:`aaas.repeats.user_thresholds`). A user whose result's quality is below its
    threshold, or whose task crashed or was rejected (no content: quality 0), sends the
    same task again, ``delay_s`` after the result, up to ``max_repeats`` times.
    """

    max_repeats: int = 0
    """k: how many times a user asks again for one task (0: never, the paper's model)."""
    threshold: Range = Range(min=0.3, max=0.7)
    """The range each user's quality threshold is drawn from."""
    delay_s: float = 0.0
    """Emulated seconds between a disappointing result and the repeat."""

    def __post_init__(self) -> None:
        if self.max_repeats < 0:
            raise ValueError(f"max_repeats must be >= 0, got {self.max_repeats}")
        if self.delay_s < 0:
            raise ValueError(f"delay_s must be >= 0, got {self.delay_s}")

    @property
    def enabled(self) -> bool:
        return self.max_repeats > 0


class Workload(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``[workload]``: the users and their Poisson task arrivals."""

    users: int = 1000
    """Number of emulated users."""
    arrival_rate: float = 0.001
    """λ: tasks per emulated second, over the whole population."""
    horizon_s: float = 1_000_000.0
    """Length of the episode in emulated seconds."""
    steps: Range = Range(min=100.0, max=250.0, step=10.0, inclusive=True)
    """Diffusion steps t a task asks for, drawn from min..max by step."""
    repeats: Repeats = Repeats()
    """Users who ask again (``[workload.repeats]``; off by default)."""

    def __post_init__(self) -> None:
        _positive(self, "users", "arrival_rate", "horizon_s")
        if self.steps.min < 1:
            raise ValueError(f"steps.min must be >= 1, got {self.steps.min:g}")

    @property
    def steps_min(self) -> int:
        return int(self.steps.min)

    @property
    def steps_max(self) -> int:
        return int(self.steps.max)

    @property
    def steps_step(self) -> int:
        return int(self.steps.step or 1)

    @property
    def steps_choices(self) -> np.ndarray:
        return np.arange(self.steps_min, self.steps_max + 1, self.steps_step)

    @property
    def expected_tasks(self) -> float:
        return self.arrival_rate * self.horizon_s


class Limits(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``[limits]``: input limits every process enforces."""

    max_image_bytes: int = 1_048_576
    """Largest encoded image (or mask) a request may carry."""
    image_size: int = 64
    """Side in pixels of the images the emulated users generate."""
    image_noise: float = 0.0
    """Standard deviation (grey levels) of sensor noise on the generated images: 0 keeps
    them smooth (small PNGs); 8 makes PNGs as large as photos (1024²: ≈ 2.3 MB, 1824²:
    ≈ 7.4 MB, near the paper's ~10 MB wallpapers)."""
    image_pool: int = 256
    """Generated image and mask pairs the users draw from: each is made and encoded once,
    on first use (0: a new pair for every task). The noise is new for every task."""
    queue_timeout_s: float = 3600.0
    """Emulated seconds a task may wait for an online node before rejection."""
    max_image_pixels: int = 4_194_304
    """Most pixels (width × height, read from the header before decoding) an image or mask
    may have: a small PNG can decode to gigabytes."""

    def __post_init__(self) -> None:
        _positive(self, "max_image_bytes", "image_size", "queue_timeout_s", "max_image_pixels")
        if not 0 <= self.image_pool <= 1_000_000:
            raise ValueError(f"limits.image_pool must be in [0, 10^6], got {self.image_pool}")
        if not 0 <= self.image_noise <= 128:
            raise ValueError(f"limits.image_noise must be in [0, 128], got {self.image_noise}")


class ScenarioFile(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The TOML file as written: every key, with its default."""

    name: str | None = None
    """Scenario name; default: the file's stem."""
    description: str = ""
    """One line saying what the scenario is (``aaas scenario list``)."""
    seed: int = 0
    """Seed of the ASP draw (and of the link's per-user draws)."""
    asps: AspPopulation = AspPopulation()
    """The ASPs: how many, and the ranges they are drawn from."""
    workload: Workload = Workload()
    """Users and arrivals."""
    runtime: RuntimeModel = RuntimeModel()
    """runtime(t) = (a t² + b t + c) · unit_s emulated seconds."""
    crash: CrashRule = CrashRule()
    """penalty = base_penalty + Σ_lost lost_weight · (1 − progress)."""
    limits: Limits = Limits()
    """Input limits."""
    link: dict[str, Any] = field(default_factory=dict)
    """The wireless link (``[link]``), parsed by the ``link`` package (see docs/link.md)."""
    domains: Domains = Domains()
    """The content domains and how the ASPs suit them (one, ``generic``, by default)."""

    def __post_init__(self) -> None:
        if not self.runtime.unit_s > 0:
            raise ValueError(f"runtime.unit_s must be > 0, got {self.runtime.unit_s!r}")


class Scenario(Struct, frozen=True, kw_only=True):
    """A whole testbed description, resolved: the ASPs are drawn."""

    name: str
    """Scenario name."""
    seed: int
    """Seed of the ASP draw."""
    asps: tuple[AspSpec, ...]
    """The ASPs, in index order."""
    workload: Workload = field(default_factory=Workload)
    """Users and arrivals."""
    runtime: RuntimeModel = field(default_factory=RuntimeModel)
    """Emulated runtime of a task as a function of its steps."""
    crash: CrashRule = field(default_factory=CrashRule)
    """The crash penalty."""
    limits: Limits = field(default_factory=Limits)
    """Input limits."""
    description: str = ""
    """One line saying what the scenario is."""
    source: str = ""
    """Where it was loaded from."""
    link: dict[str, Any] = field(default_factory=dict)
    """The raw ``[link]`` table (empty: the link's defaults); the ``link`` package parses it."""
    domains: Domains = field(default_factory=Domains)
    """The content domains (``[domains]``)."""

    def asp(self, node_id: str) -> AspSpec:
        for a in self.asps:
            if a.id == node_id:
                return a
        raise ConfigError(f"scenario {self.name!r} has no ASP {node_id!r}")

    @property
    def node_ids(self) -> tuple[str, ...]:
        return tuple(a.id for a in self.asps)

    @property
    def capacities(self) -> np.ndarray:
        return np.array([a.capacity for a in self.asps], dtype=np.int64)

    def user_ids(self) -> list[str]:
        width = max(4, len(str(self.workload.users - 1)))
        return [f"user-{i:0{width}d}" for i in range(self.workload.users)]

    def check_steps(self, steps: int) -> bool:
        w = self.workload
        return w.steps_min <= steps <= w.steps_max

    def answer_deadline_s(self, steps: int) -> float:
        """Emulated seconds within which a task of *steps* is answered when nothing goes
        wrong for long: twice its runtime plus the queue timeout (a task may wait that
        long for a node). Users count a task lost some wall seconds past it, the demo's
        drain waits for it, a node waits this long for a task's content."""
        return 2 * self.runtime(steps) + self.limits.queue_timeout_s


# --- decoding --------------------------------------------------------------

_NOUNS = {"int": "an integer", "float": "a number", "str": "a string", "bool": "true or false",
          "object": "a table", "array": "a list"}
_AT = re.compile(r"^(?P<what>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)


def _path_keys(path: str) -> list[str | int]:
    return [int(i) if i else k for k, i in re.findall(r"\.(\w+)|\[(\d+)\]", path)]


def _type_at(keys: list[str | int]) -> msgspec.inspect.Type:
    node: msgspec.inspect.Type = msgspec.inspect.type_info(ScenarioFile)
    for key in keys:
        while isinstance(node, msgspec.inspect.UnionType):
            node = next(t for t in node.types if not isinstance(t, msgspec.inspect.NoneType))
        if isinstance(node, msgspec.inspect.StructType) and isinstance(key, str):
            node = next(f.type for f in node.fields if f.name == key)
        elif isinstance(node, msgspec.inspect.VarTupleType | msgspec.inspect.ListType):
            node = node.item_type
    return node


def _value_at(data: Any, keys: list[str | int]) -> Any:
    for key in keys:
        data = data[key]
    return data


def _explain(exc: msgspec.ValidationError, data: Any, where: str) -> ConfigError:
    """msgspec's error, said in the scenario's words (it names the path and the key).

    msgspec reports ``<what> - at `$.asps.count```; its messages are stable, and
    saying them as TOML keys (with the allowed keys of a table) is what a user
    editing the file needs.
    """
    m = _AT.match(str(exc))
    if m is None:
        return ConfigError(f"{where}: {exc}")
    path = m["path"] or ""  # msgspec names no path for the top level
    what, keys, dotted = m["what"], _path_keys(path), path.lstrip(".")
    table = f"[{dotted}]" if dotted else "the top level"
    node = _type_at(keys)
    names = [f.name for f in node.fields] if isinstance(node, msgspec.inspect.StructType) else []
    if unknown := re.fullmatch(r"Object contains unknown field `(.*)`", what):
        return ConfigError(f"{where}: unknown keys [{unknown[1]!r}] in {table} "
                           f"(allowed: {names})")
    if missing := re.fullmatch(r"Object missing required field `(.*)`", what):
        need = [f.name for f in getattr(node, "fields", ()) if f.required]
        return ConfigError(f"{where}: {dotted} must be a table with {' and '.join(need)} "
                           f"(missing {missing[1]!r})")
    if wrong := re.fullmatch(r"Expected `([^`]*)`, got `[^`]*`", what):
        noun = " or ".join(_NOUNS.get(t, t) for t in wrong[1].split(" | ") if t != "null")
        return ConfigError(f"{where}: {dotted} must be {noun}, got {_value_at(data, keys)!r}")
    return ConfigError(f"{where}: {table}: {what}" if dotted else f"{where}: {what}")


def _draw_asps(spec: AspPopulation, seed: int, where: str) -> tuple[AspSpec, ...]:
    # One generator, drawn in a fixed order (capacity, Ax, Ay, Bx, By per ASP):
    # the same seed gives the same ASPs, and the shipped checkpoints rely on it.
    rng = np.random.default_rng(seed)
    width = max(2, len(str(spec.count - 1)))
    out: dict[int, AspSpec] = {}
    for i in range(spec.count):
        capacity = int(spec.capacity.draw(rng))
        drawn = {k: getattr(spec, k).draw(rng) for k in ("ax", "ay", "bx", "by")}
        out[i] = AspSpec(id=f"asp-{i:0{width}d}", capacity=capacity,
                         curve=QualityCurve(**drawn), backend=spec.backend, model=spec.model,
                         timing=spec.timing)
    for k, ov in enumerate(spec.override):
        if ov.index not in out:
            raise ConfigError(f"{where} [[asps.override]] #{k}: index {ov.index} is not an ASP "
                              f"(0..{spec.count - 1})")
        base = out[ov.index]
        pinned = {name: value for name in ("ax", "ay", "bx", "by")
                  if (value := getattr(ov, name)) is not None}
        changes = {name: value for name in ("id", "capacity", "backend", "model", "timing")
                   if (value := getattr(ov, name)) is not None}
        old = base.curve
        try:
            curve = QualityCurve(**{"ax": old.ax, "ay": old.ay, "bx": old.bx, "by": old.by,
                                    **pinned})
        except ConfigError as exc:
            raise ConfigError(f"{where} [[asps.override]] #{k}: {exc}") from None
        out[ov.index] = msgspec.structs.replace(base, curve=curve, **changes)
    ids = [a.id for a in out.values()]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"{where}: ASP ids are not unique")
    return tuple(out[i] for i in range(spec.count))


SKILL_STREAM = 0x5C111
"""Second word of the skills' seed ``[scenario.seed, SKILL_STREAM]``: a stream of its own,
so the domains change no other draw (the ASPs' capacities and curves stay the same)."""


def _roles(spec: ScenarioFile, where: str) -> list[str]:
    """Every ASP's specialty: the domains take turns for the first specialists, then
    generalists; ``[[asps.override]]`` may name another."""
    dom, count = spec.domains, spec.asps.count
    n_special = dom.specialists * len(dom.names)
    if n_special > count:
        raise ConfigError(f"{where}: domains.specialists = {dom.specialists} per domain needs "
                          f"{n_special} ASPs, but asps.count is {count}")
    roles = [dom.names[i % len(dom.names)] if i < n_special else GENERALIST
             for i in range(count)]
    for k, ov in enumerate(spec.asps.override):
        if ov.specialty is not None:
            if ov.specialty not in (*dom.names, GENERALIST):
                raise ConfigError(f"{where} [[asps.override]] #{k}: specialty {ov.specialty!r} "
                                  f"is not a domain ({', '.join(dom.names)}) or {GENERALIST!r}")
            roles[ov.index] = ov.specialty
    return roles


def _skills(spec: ScenarioFile, roles: list[str], seed: int, where: str) -> np.ndarray:
    """(ASPs, domains) skills: drawn per ASP in index order from its role's ranges, then
    pinned by ``[[asps.override]]`` ``skill`` tables."""
    dom = spec.domains
    rng = np.random.default_rng([seed, SKILL_STREAM])
    out = np.ones((len(roles), len(dom.names)))
    for i, role in enumerate(roles):
        for d, name in enumerate(dom.names):
            r = dom.generalist if role == GENERALIST else dom.own if role == name else dom.other
            out[i, d] = r.draw(rng)
    for k, ov in enumerate(spec.asps.override):
        for name, value in (ov.skill or {}).items():
            if name not in dom.names or not 0 <= value <= 1:
                raise ConfigError(f"{where} [[asps.override]] #{k}: skill {name} = {value!r}: "
                                  f"a domain ({', '.join(dom.names)}) and a number in [0, 1]")
            out[ov.index, dom.names.index(name)] = value
    return out


def _draw_skills(spec: ScenarioFile, asps: tuple[AspSpec, ...],
                 where: str) -> tuple[AspSpec, ...]:
    """The ASPs with their curve on every domain: the drawn curve, its rise scaled by the
    ASP's skill there. One domain: the drawn curve itself (no draw, nothing scaled)."""
    if spec.domains.single:
        if any(ov.specialty is not None or ov.skill for ov in spec.asps.override):
            raise ConfigError(f"{where}: [[asps.override]] specialty and skill need [domains] "
                              "with more than one name")
        return tuple(msgspec.structs.replace(a, curves=(a.curve,)) for a in asps)
    roles = _roles(spec, where)
    skills = _skills(spec, roles, spec.seed, where)
    return tuple(msgspec.structs.replace(
        a, specialty=roles[i],
        curves=tuple(QualityCurve(ax=a.curve.ax, ay=a.curve.ay * s, bx=a.curve.bx,
                                  by=a.curve.by * s) for s in skills[i].tolist()))
        for i, a in enumerate(asps))


def parse_scenario(data: dict[str, Any], *, source: str = "<dict>") -> Scenario:
    """Build a Scenario from parsed TOML; raise ConfigError on anything invalid."""
    try:
        spec = msgspec.convert(data, type=ScenarioFile)
    except msgspec.ValidationError as exc:
        raise _explain(exc, data, source) from None
    return Scenario(
        name=spec.name if spec.name is not None else Path(source).stem,
        seed=spec.seed,
        description=spec.description,
        asps=_draw_skills(spec, _draw_asps(spec.asps, spec.seed, source), source),
        workload=spec.workload,
        runtime=spec.runtime,
        crash=spec.crash,
        limits=spec.limits,
        source=source,
        link=spec.link,
        domains=spec.domains,
    )


# --- the shipped scenarios ---------------------------------------------------

def scenario_dir() -> Traversable:
    """The shipped scenarios: ``aaas/scenarios/`` in the installed package."""
    return resources.files("aaas") / "scenarios"


def scenario_names() -> list[str]:
    """Names of the shipped scenarios (``paper``, ``agod``, ...)."""
    return sorted(p.name.removesuffix(".toml") for p in scenario_dir().iterdir()
                  if p.name.endswith(".toml"))


def _read(name_or_path: str | Path) -> tuple[str, str]:
    """The TOML text of a scenario and where it came from."""
    path = Path(name_or_path)
    if path.is_file():
        return path.read_text(encoding="utf-8"), str(path)
    shipped = scenario_dir() / f"{name_or_path}.toml"
    if not shipped.is_file():
        raise ConfigError(f"no scenario file {str(name_or_path)!r} "
                          f"(known names: {scenario_names()})")
    return shipped.read_text(encoding="utf-8"), str(shipped)


def _toml(name_or_path: str | Path) -> tuple[dict[str, Any], str]:
    text, source = _read(name_or_path)
    try:
        return tomllib.loads(text), source
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Load a scenario by path, or by name from the shipped ``aaas/scenarios/``."""
    data, source = _toml(name_or_path)
    return parse_scenario(data, source=source)

