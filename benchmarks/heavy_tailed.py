"""A second generator for the verdict benchmarks: the bundled sample's operation with heavy-tailed
agent effects and stronger score-dependent response.

The project's simulator draws agents' skill from a normal distribution, which is what the agent model
assumes. Here skill is t with 3 degrees of freedom, scaled to the same SD (a few agents far out, many
close to the middle), and the U-shaped dependence of response on the score is 1.5 times as strong
(`outcome_dependent_response` 1.5): the very unhappy and the very happy answer more. Everything else —
contact mix, routing, customers, steering agents, the survey process — is the project's own, so the
truth (``truth.json``'s agent effects on the CSAT scale) is computed the same way.

    from heavy_tailed import simulate_heavy_tailed
    op = simulate_heavy_tailed(seed=5000)
"""
from __future__ import annotations

import numpy as np

from upstream.simulate import PRESETS, SimulatedOperation
from upstream.simulate.operation import draw_agents, operate, staff_table
from upstream.simulate.truth import build_truth

T_DF = 3
RESPONSE_STRENGTH = 1.5


def heavy_tailed_skill(rng: np.random.Generator, m: int, sd: float, df: int = T_DF) -> np.ndarray:
    """m draws of t(df) scaled to standard deviation `sd`."""
    return rng.standard_t(df, m) * sd / np.sqrt(df / (df - 2))


def simulate_heavy_tailed(seed: int, preset: str = "sample", df: int = T_DF,
                          response_strength: float = RESPONSE_STRENGTH) -> SimulatedOperation:
    """The `preset` operation with t(df) agent skill and `response_strength` × the U-shaped response."""
    spec = PRESETS[preset].replace(seed=seed, outcome_dependent_response=response_strength)
    rng = np.random.default_rng(spec.seed)
    staff = draw_agents(spec, rng)
    skill = heavy_tailed_skill(np.random.default_rng([seed, 3]), spec.n_agents, spec.agent_sd, df)
    staff["skill"] = skill
    staff["agent_latent"] = skill + staff["tenure_effect"] + staff["rush_effect"]
    contacts, surveys, draws = operate(spec, rng, staff, spec.n_contacts, (0, spec.days))
    return SimulatedOperation(contacts=contacts, surveys=surveys, agents=staff_table(staff), truth=build_truth(draws))
