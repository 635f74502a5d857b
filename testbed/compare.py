"""``aaas compare``: one episode, the same task stream from the same seed, in the
simulator and live, per policy.

The live demo draws its tasks with :func:`user_agent.scenario_arrivals` from the
seed; this module turns exactly those arrivals into the simulator's
:class:`~orchestrator.sim.Episode` and steps :class:`~orchestrator.sim.AaasEnv`
through them with the same policy (a fresh instance built from the same seed),
so any difference between the two rewards is the emulation's: load reports that
arrive late, assignments still in flight, a lag behind the emulated clock. Both
runs record which ASP took each task; ``agreement`` is the share of tasks placed
on the same one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

import msgspec
import numpy as np

from aaas.config import Scenario
from aaas.lag import EmulationReport

from .demo import DemoOptions, run_demo, scenario_for

__all__ = ["Comparison", "SimRun", "compare_policy", "episode_arrivals", "simulate"]

log = logging.getLogger("aaas.compare")


class SimRun(msgspec.Struct, kw_only=True):
    """The simulator's side of one episode."""

    reward: float
    utility: float
    """Quality summed over the admitted tasks."""
    tasks: int
    admitted: int
    crashes: int
    lost: int
    """Admitted tasks killed by a crash."""


class LiveRun(msgspec.Struct, kw_only=True):
    """The live side: the demo's reward, crashes and every task's outcome."""

    reward: float
    utility: float
    crashes: int
    tasks: dict[str, int]
    """sent, finished, crashed, rejected, error, lost."""
    wall_s: float
    broker: str


class Comparison(msgspec.Struct, kw_only=True):
    """One policy, one episode, in the simulator and live."""

    policy: str
    scenario: str
    seed: int
    time_scale: float
    sim: SimRun
    live: LiveRun
    agreement: float
    """Share of the episode's tasks the live orchestrator placed on the ASP the simulator chose."""
    first_disagreement: int | None
    """Index of the first task placed differently (None: none was)."""
    reward_gap: float
    """(live − sim) / |sim| reward."""
    emulation: EmulationReport | None


def episode_arrivals(scenario: Scenario, seed: int) -> Any:
    """The live demo's arrivals for *seed* (:func:`testbed.demo.run_demo` draws the same)."""
    from user_agent import scenario_arrivals

    return scenario_arrivals(scenario, np.random.default_rng([seed, 0]))


def simulate(scenario: Scenario, policy_name: str, seed: int, *,
             checkpoint: str | None = None) -> tuple[SimRun, list[int]]:
    """The demo's episode for *seed* in the simulator: its totals and each task's ASP index."""
    from orchestrator.policies import make_policy
    from orchestrator.sim import AaasEnv, Episode

    arrivals = episode_arrivals(scenario, seed)
    steps = np.array([a.steps for a in arrivals], dtype=np.int64)
    domain = np.array([scenario.domains.index(a.domain) for a in arrivals], dtype=np.int64)
    episode = Episode(arrival_s=np.array([a.at for a in arrivals], dtype=np.float64),
                      steps=steps, runtime_s=scenario.runtime.many(steps),
                      domain=None if scenario.domains.single else domain)
    policy = make_policy(policy_name, scenario, rng=np.random.default_rng([seed, 2]),
                         checkpoint=checkpoint)
    policy.reset()
    env = AaasEnv(scenario)
    env.reset(options={"episode": episode})
    actions: list[int] = []
    done = len(episode) == 0
    while not done:
        action = policy.select(env.observation())
        actions.append(action)
        _, _, done, _, _ = env.step(action)
    st = env.stats
    return SimRun(reward=round(st.ret, 4), utility=round(st.admitted_utility, 4),
                  tasks=st.tasks, admitted=st.admitted, crashes=st.crashes,
                  lost=st.lost), actions


@dataclass(frozen=True, kw_only=True)
class _Agreement:
    share: float
    first: int | None


def _agreement(scenario: Scenario, sim_actions: list[int],
               records: list[dict[str, Any]]) -> _Agreement:
    ids = [a.id for a in scenario.asps]
    # Task ids are "<run id>-t<index>" (the run id keeps runs apart, docs/reliability.md).
    live = {int(r["task_id"].rsplit("-t", 1)[-1].lstrip("t")): r.get("node_id")
            for r in records}
    same = [live.get(i) == ids[a] for i, a in enumerate(sim_actions)]
    first = next((i for i, s in enumerate(same) if not s), None)
    return _Agreement(share=round(sum(same) / max(len(same), 1), 4), first=first)


async def compare_policy(opts: DemoOptions) -> Comparison:
    """Run *opts*' episode live (the demo) and in the simulator; compare them."""
    scenario = scenario_for(opts)
    sim, actions = simulate(scenario, opts.policy, opts.seed, checkpoint=opts.checkpoint)
    log.info("simulator: policy %s, reward %.2f, %d crashes", opts.policy, sim.reward,
             sim.crashes)
    summary = await run_demo(replace(opts, json_records=True, json_path=None))
    live = LiveRun(reward=round(summary["reward"]["total"], 4),
                   utility=round(summary["reward"]["utility"], 4), crashes=summary["crashes"],
                   tasks=summary["tasks"], wall_s=summary["wall_s"], broker=summary["broker"])
    agree = _agreement(scenario, actions, summary["records"])
    emulation = summary.get("emulation")
    return Comparison(
        policy=summary["policy"], scenario=scenario.name, seed=opts.seed,
        time_scale=opts.time_scale, sim=sim, live=live, agreement=agree.share,
        first_disagreement=agree.first,
        reward_gap=round((live.reward - sim.reward) / max(abs(sim.reward), 1e-9), 5),
        emulation=msgspec.convert(emulation, EmulationReport) if emulation else None)
