"""The one model-formula builder and the one rule for which contact-mix columns enter a model
(upstream.data.model_formula), and a guard that no module writes a formula by hand."""
import ast
import re
from pathlib import Path

import pandas as pd
from source_tree import parsed

from upstream.data.model_formula import complete_varying, model_formula, present_mix, varying
from upstream.survey.constants import AGENT, CUSTOMER

SRC = Path(__file__).resolve().parents[1] / "src" / "upstream"


def test_the_agent_model_formula():
    assert model_formula("csat", ["policy", "product", "channel", "issue_type"]) == \
        "csat ~ policy + product + channel + issue_type + (1 | agent_id)"


def test_no_fixed_terms_is_the_intercept_alone():
    assert model_formula("top", []) == "top ~ 1 + (1 | agent_id)"
    assert model_formula("top", ()) == "top ~ 1 + (1 | agent_id)"


def test_fixed_terms_keep_their_order():
    assert model_formula("csat", ["week", "policy"]) == "csat ~ week + policy + (1 | agent_id)"
    assert model_formula("sentiment", ["csat_score", "channel"]) == "sentiment ~ csat_score + channel + (1 | agent_id)"


def test_crossed_and_extra_random_intercepts():
    assert model_formula("csat", ["policy"], random=(AGENT, CUSTOMER)) == \
        "csat ~ policy + (1 | agent_id) + (1 | customer_id)"
    assert model_formula("log_handle_time", ["channel", "period"], (AGENT, "day")) == \
        "log_handle_time ~ channel + period + (1 | agent_id) + (1 | day)"


def test_an_uncorrelated_random_slope_follows_the_intercepts():
    assert model_formula("csat", ["policy", "channel"], slopes=[("_slope", AGENT)]) == \
        "csat ~ policy + channel + (1 | agent_id) + (0 + _slope | agent_id)"


def test_the_formula_parses_to_the_terms_it_names():
    from upstream.models import parse_formula

    text = model_formula("csat", ["policy"], random=(AGENT, CUSTOMER), slopes=[("_slope", AGENT)])
    parsed = parse_formula(text)
    assert parsed.response == ("csat",)
    assert [t.label for t in parsed.fixed.terms] == ["policy"]
    assert [(t.group, t.lhs.intercept, [v.label for v in t.lhs.terms]) for t in parsed.random] == \
        [(("agent_id",), True, []), (("customer_id",), True, []), (("agent_id",), False, ["_slope"])]


def test_the_mix_rule_keeps_columns_with_more_than_one_value_in_the_given_order():
    assert varying({"policy": 3, "product": 1, "channel": 2, "issue_type": 0}) == ("policy", "channel")
    assert varying({"channel": 2, "policy": 2}, ("policy", "channel")) == ("policy", "channel")
    assert varying({"policy": 2}, ("policy", "product")) == ("policy",)      # not counted: not in the data
    assert varying({}, ("policy",)) == ()


def test_present_mix_counts_distinct_non_missing_values_of_the_frame():
    frame = pd.DataFrame({"policy": ["a", "b", "a"], "product": ["x", "x", "x"],
                          "channel": ["chat", None, "chat"], "issue_type": ["i", "j", None]})
    assert present_mix(frame) == ("policy", "issue_type")
    assert present_mix(frame, ["issue_type", "policy", "team"]) == ("issue_type", "policy")
    assert present_mix(frame.iloc[:1]) == ()


def _hand_written(tree) -> list[int]:
    """Lines of f-strings that fill in a model formula: a response or right-hand side around ` ~ `, or the
    group of a random term `| {…})`."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
            if re.search(r"\{\}\s*~\s|\s~\s*\{\}|\|\s*\{\}\)", text):
                lines.append(node.lineno)
    return lines


#: The builder itself, and the engine's labels of fits it made from sums (per-group: column names, not terms;
#: crossed agent × customer: models/crossed.crossed_formula; the engine takes its grouping columns as arguments).
ALLOWED = {"data/model_formula.py", "models/fit.py", "models/crossed.py"}


def test_no_model_formula_is_written_by_hand_outside_the_builder():
    found = {}
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        lines = _hand_written(parsed(path))
        if lines and rel not in ALLOWED:
            found[rel] = lines
    assert found == {}, f"model formulas written by hand (use upstream.data.model_formula.model_formula): {found}"


def test_the_guard_sees_a_hand_written_formula():
    tree = ast.parse('f"csat ~ {rhs} + (1 | {agent})"\nf"{k}~{m}"\nx = f"{base} + (0 + x | {agent})"\n'
                     'f"{y} ~ 1"\nf"{a}|{b}"\nf"e.g. \'y ~ x + (1 | g)\'; got {text!r}"\n')
    assert _hand_written(tree) == [1, 3, 4]


def test_a_propensity_feature_must_vary_and_never_be_missing():
    frame = pd.DataFrame({"channel": ["chat", "email", "chat"], "escalated": [True, None, False],
                          "policy": ["a", "a", "a"], "credited": [False, True, True]})
    assert complete_varying(frame, ["credited", "policy", "escalated", "channel", "team"]) == ["credited", "channel"]
