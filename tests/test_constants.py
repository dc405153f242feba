"""Constants written once (upstream.survey.constants): the agent column, the NPS categories and the survey
screen's z — no module or notebook retypes them."""
import ast
import json
from pathlib import Path

from source_tree import parsed

from upstream.data.description import NpsScale
from upstream.studies import Parameters
from upstream.studies.allowed import allowed_values
from upstream.survey import nps
from upstream.survey.constants import AGENT, DETRACTOR_MAX, PROMOTER_MIN, SCREEN_Z

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "upstream"


def test_the_nps_categories_are_one_rule():
    scale = NpsScale()
    assert (PROMOTER_MIN, DETRACTOR_MAX) == (9, 6)
    assert scale.promoters == (9, 10) and scale.detractors == (0, 1, 2, 3, 4, 5, 6)
    estimate = nps([10, 9, 9, 8, 7, 6, 0])
    assert (estimate.promoters, estimate.passives, estimate.detractors) == (3, 2, 2)


def test_the_screen_z_is_declared_once():
    assert Parameters().screen_z == SCREEN_Z == 1.81
    assert allowed_values(Parameters)["screen_z"].describe() == "a number, above 0, or null: the default, 1.81"


def test_no_notebook_retypes_the_screen_z():
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        parameters = ["".join(c["source"]) for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
        for line in "\n".join(parameters).splitlines():
            if line.startswith("screen_z"):
                assert line.split("#")[0].split("=")[1].strip() == "None", f"{path.name}: {line}"
        assert "1.81" not in path.read_text(encoding="utf-8"), path.name


def test_no_function_takes_the_agent_column_as_a_parameter():
    """`agent="agent_id"` was a parameter of 16 analysis functions no caller overrode: AGENT is the column."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if rel.startswith("data/sql/"):        # the SQL path's query builders (issue 20's) still take it
            continue
        if rel.startswith("models/"):          # the engine is general (as lme4): a grouping column is an argument,
            continue                           # defaulting to the canonical contact_agents table's names
        for node in ast.walk(parsed(path)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                defaults = node.args.defaults + [d for d in node.args.kw_defaults if d is not None]
                if any(isinstance(d, ast.Constant) and d.value == AGENT for d in defaults):
                    found.append(f"{rel}: {node.name}")
    assert found == []
