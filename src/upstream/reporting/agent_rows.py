"""The run's tables as the agent pages read them, indexed once: a page then costs the same at 150 agents as at
20,000. Filtering the tables for every page made the pages quadratic in the agents (0.18 s a page at 2,000
agents, hours at 20,000): here each agent's rows of the per-agent tables are plain dicts found by label
(``AgentTables.rows``), and what every page shares — the ranked agents' effects overall and per team, drawn as
one strip, and the average agent's raw and mix-expected scores — is computed once (``Ranked``)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import svg

#: The tables a page reads besides agent_effects: one or more rows per agent.
PER_AGENT = ("agent_mix_parts", "survey_screen", "agent_metrics", "qa_plan", "qa_sample", "shared_credit",
             "agent_monthly_effects", "agent_trend")
STRIP_LABEL = "Every ranked agent's effect as a tick; this agent as the blue dot"


def read_table(folder: Path, name: str) -> pd.DataFrame | None:
    """tables/<name>.csv with agent labels read as text, or None when the run did not publish it."""
    path = folder / "tables" / f"{name}.csv"
    if not path.is_file():
        return None
    return pd.read_csv(path, dtype={"agent_id": str}, keep_default_na=False, na_values=[""])


@dataclass
class Table:
    """One per-agent table: its columns, and each agent's rows (dicts, in table order) by label."""

    columns: list[str]
    by_agent: dict[str, list[dict]]

    @classmethod
    def of(cls, frame: pd.DataFrame) -> Table:
        by_agent: dict[str, list[dict]] = {}
        for label, record in zip(frame["agent_id"].astype(str), frame.to_dict("records")):
            by_agent.setdefault(label, []).append(record)
        return cls(list(frame.columns), by_agent)


@dataclass
class Ranked:
    """The ranked agents (those with an adjusted rank): how many, their effects sorted per team, and the strip of
    every ranked agent's effect."""

    count: int
    teams: dict[object, tuple[int, np.ndarray]]      # team → (ranked agents, their finite effects, sorted)
    strip: svg.StripChart

    @classmethod
    def of(cls, effects: pd.DataFrame) -> Ranked:
        ranked = effects[effects["adjusted_rank"].notna()]
        values = ranked["effect"].astype(float)
        teams = {}
        if "team" in ranked:
            for team, group in values.groupby(ranked["team"], sort=False):
                teams[team] = (len(group), np.sort(group[np.isfinite(group)].to_numpy()))
        return cls(len(ranked), teams, svg.StripChart(values.tolist(), STRIP_LABEL))

    def team_place(self, team: object, effect: float) -> tuple[int, int]:
        """(1 + the ranked agents of `team` with a larger effect, the ranked agents of `team`)."""
        size, effects = self.teams.get(team, (0, np.empty(0)))
        return len(effects) - int(np.searchsorted(effects, effect, side="right")) + 1, size


@dataclass
class AgentTables:
    """agent_effects, each per-agent table indexed by label (None where the run did not publish it), the ranked
    agents, and the average agent's raw score and mix-expected score (the means over agent_effects' rows)."""

    effects: pd.DataFrame
    tables: dict[str, Table | None]
    ranked: Ranked
    average_raw: float
    average_mix_expected: float

    @classmethod
    def read(cls, folder: Path) -> AgentTables | None:
        """The tables of the report in `folder`; None when it published no agent table."""
        effects = read_table(folder, "agent_effects")
        if effects is None or not len(effects):
            return None
        tables = {name: read_table(folder, name) for name in PER_AGENT}
        return cls(effects, {name: None if t is None else Table.of(t) for name, t in tables.items()},
                   Ranked.of(effects), float(effects["raw_score"].mean()), float(effects["mix_expected"].mean()))

    def rows(self, name: str, label: str) -> list[dict] | None:
        """The agent's rows of table `name` ([] when it has none), or None when the run did not publish it."""
        table = self.tables.get(name)
        return None if table is None else table.by_agent.get(label, [])

    def columns(self, name: str) -> list[str]:
        table = self.tables.get(name)
        return [] if table is None else table.columns
