"""Typed analysis results (issue 19): side information travels as attributes of a result object, not in
``DataFrame.attrs`` or dict keys; every result prints a plain-text summary and an escaped HTML view."""
import ast
import json
import re
from dataclasses import FrozenInstanceError
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from upstream.analysis.results import SHOWN_ROWS, AnalysisResult, result
from upstream.analysis.screen import RateTest, ScreenResult, screen_table

ROOT = Path(__file__).resolve().parents[1]
#: ``DataFrame.attrs`` (experimental in pandas) is left for pandas interoperability only: at most this many uses.
MAX_ATTRS = 3


def attrs_uses() -> list[str]:
    found = []
    for path in sorted((ROOT / "src" / "upstream").rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"\.attrs\b", line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    return found


def test_side_information_does_not_travel_in_dataframe_attrs():
    uses = attrs_uses()
    assert len(uses) <= MAX_ATTRS, "DataFrame.attrs used for side information:\n" + "\n".join(uses)


def test_notebooks_read_results_by_attribute():
    """No notebook reads a study's values by key or a table's attrs."""
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        assert not re.search(r"\.values\[|\.attrs\b|values\.get\(", code), path.name


def counts(o, n, p):
    o, n, p = (np.asarray(x, float) for x in (o, n, p))
    return pd.DataFrame({"o": o, "e": n * p, "v": n * p * (1 - p), "n": n},
                        index=pd.Index([f"a{i}" for i in range(len(o))], name="agent_id"))


def test_screen_result_summary_states_its_numbers_tables_and_notes():
    inv = counts([8, 7, 9, 8, 6, 7], [10] * 6, [0.8] * 6)
    resp = counts([8, 7, 9, 8, 6, 7], [8, 7, 9, 8, 6, 7], [1.0] * 6)
    screen = screen_table(inv, resp, None, 2.17, [], None)
    assert isinstance(screen, ScreenResult) and list(screen.table.index) == [f"a{i}" for i in range(6)]
    assert (screen.z, screen.z_test, screen.n_tests) == (2.17, 2.17, 1)
    assert np.isnan(screen.tau2_response) and np.isnan(screen.tau2_top_box) and screen.tau2_invitation >= 0
    text = screen.summary()
    lines = text.splitlines()
    assert lines[:5] == ["Survey screen: each agent's invitation and response rates against its own expected rates.",
                         "  z: 2.17", "  z_test: 2.17", "  n_tests: 1", f"  tau2_invitation: {screen.tau2_invitation:.4g}"]
    assert "table:" in lines and lines[lines.index("table:") + 1].split()[:3] == ["contacts", "invitations",
                                                                                 "invitation_rate"]
    assert lines[-4:] == [
        "skipped:",
        "  - The survey screen cannot test invitations after adverse contacts (unresolved, escalated or repeated): "
        "the data set records no adverse contact.",
        "  - The survey screen has nothing to test in replies per invitation: every invitation was answered, so no "
        "agent differs from its expected rate.",
        "  - The survey screen cannot test top-box replies: fewer than two agents have scored replies."]
    assert str(screen) == text
    assert "health" not in text and "notes:" not in text          # empty notes are left out


def test_html_escapes_tables_and_notes_and_shows_the_first_rows():
    @result
    class Listing(AnalysisResult):
        """Words <per> group."""

        table: pd.DataFrame
        threshold: float
        notes: tuple[str, ...] = ()

    table = pd.DataFrame({"word": ["<script>alert(1)</script>"] * (SHOWN_ROWS + 5)},
                         index=pd.Index([f"g{i}" for i in range(SHOWN_ROWS + 5)], name="group"))
    html = Listing(table, threshold=3.3712, notes=("a & b",))._repr_html_()
    assert "<script>" not in html and html.count("&lt;script&gt;alert(1)&lt;/script&gt;") == SHOWN_ROWS
    assert "<strong>Words &lt;per&gt; group.</strong>" in html and "<li>threshold: 3.371</li>" in html
    assert f"(first {SHOWN_ROWS} of {SHOWN_ROWS + 5} rows)" in html and "<li>a &amp; b</li>" in html
    text = Listing(table, threshold=3.3712).summary()
    assert f"table (first {SHOWN_ROWS} of {SHOWN_ROWS + 5} rows):" in text and "notes" not in text


def test_results_are_frozen():
    test = RateTest(pd.DataFrame({"z": [0.5]}), tau2=0.1, n_tested=1)
    with pytest.raises(FrozenInstanceError):
        test.tau2 = 0.2
    assert test.tau2 == 0.1


# -- studies read the typed results by attribute, never by string key --------------------------------------------

#: The typed results that replaced dicts read by key, and the functions that make them (a name bound to a call of
#: one of these functions, or a parameter annotated with one of these classes, holds such a result).
KEYLESS_RESULTS = {
    "RankShift": ("rank_shift",), "PileUp": ("pile_up",), "DoseResponse": ("dose_response",),
    "CreditAnalysis": ("credit_analysis",), "AgentVariance": ("agent_variance_test",),
    "AgentSentiment": ("agent_sentiment",), "Disagreement": ("disagreement",), "ChangePoint": ("change_point",),
    "PeriodChange": ("change_step",), "FastestShare": ("fastest_share",), "InteractionCurve": ("interaction_curve",),
    "AttributionComparison": ("compare_attributions", "shared_effects"), "Recovery": ("recovery_error",),
    "CustomerSplit": ("customer_split",)}
MAKERS = {name for makers in KEYLESS_RESULTS.values() for name in makers}
#: Result fields that hold another typed result (``money.pile["share"]`` is a read by key too).
NESTED_RESULTS = {"pile", "dose", "test", "found", "sentiment", "disagreement", "change", "fastest", "credit"}
#: The old dict keys, distinctive enough to grep for in the studies' code and the notebooks.
OLD_KEYS = ("n_moved_by_mix", "n_moved_by_shrinkage", "n_not_rankable", "n_rankable", "n_under_review",
            "bottom_size", "n_unlikely", "n_likely", "spearman", "n_credited", "is_cap", "point_mass",
            "share_of_contacts", "expected_count", "above_share", "per_doubling", "icc", "icc_lower", "icc_upper",
            "agent_sd", "z_threshold", "min_comments", "candidate", "day_lower", "day_upper", "critical_95", "ar_order",
            "n_fastest", "expected_in_quadrant", "nonlinear_p", "n_changed", "n_shared_contacts", "gain_top",
            "gain_top_shared", "loss_top", "loss_top_shared", "false_sign_rate", "rho_lower", "rho_upper", "n_repeat_customers")


def _annotation_text(node) -> str:
    return ast.unparse(node) if node is not None else ""


def _bound_to_results(function: ast.AST) -> set[str]:
    """Names in `function` that hold a typed result: annotated parameters, and targets of a maker's call."""
    bound = {a.arg for a in ast.walk(function) if isinstance(a, ast.arg)
             if any(re.search(rf"\b{cls}\b", _annotation_text(a.annotation)) for cls in KEYLESS_RESULTS)}
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            call = node.value.func
            called = call.attr if isinstance(call, ast.Attribute) else getattr(call, "id", None)
            if called == "quietly" and node.value.args and isinstance(node.value.args[0], ast.Lambda):
                inner = node.value.args[0].body
                call = inner.func if isinstance(inner, ast.Call) else None
                called = call.attr if isinstance(call, ast.Attribute) else getattr(call, "id", None)
            if called in MAKERS:         # `x = make(...)` or `a, x = make(...)`; not `out["key"] = make(...)`
                names = [t.elts if isinstance(t, ast.Tuple) else [t] for t in node.targets]
                bound |= {n.id for group in names for n in group if isinstance(n, ast.Name)}
    return bound


def _holds_result(node, bound: set[str]) -> bool:
    """`x` bound to a result, or `x.pile`, `x.dose.…`: a result nested in one."""
    if isinstance(node, ast.Attribute):
        return node.attr in NESTED_RESULTS and _holds_result(node.value, bound)
    return isinstance(node, ast.Name) and node.id in bound


def reads_by_key(source: str, filename: str) -> list[str]:
    """`x["key"]` or `x.get("key")` where x holds one of KEYLESS_RESULTS (or a result nested in one)."""
    found = []
    tree = ast.parse(source, filename)
    for function in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]:
        bound = _bound_to_results(function)
        for node in ast.walk(function):
            if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) \
                    and isinstance(node.slice.value, str) and _holds_result(node.value, bound):
                found.append(f"{filename}:{node.lineno}: {ast.unparse(node)}")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" \
                    and _holds_result(node.func.value, bound):
                found.append(f"{filename}:{node.lineno}: {ast.unparse(node)}")
    return sorted(set(found))


def study_sources() -> list[Path]:
    return sorted((ROOT / "src" / "upstream" / "studies").glob("*/*.py"))


def test_the_key_check_finds_reads_by_key():
    source = '''
def sentence(shift: RankShift, pile: "credit.PileUp | None", money) -> str:
    return f"{shift['n_agents']} {pile.get('value')} {shift.n_agents}"

def run(ds):
    bottom = rank_shift(ds)
    dose = steps.quietly(lambda: credit.dose_response(ds, (), True))
    money = credit_analysis(ds)
    out = {}
    out["figure"] = plots.disagreement(ds)
    return bottom["bottom_size"], dose["n"], money.pile["share"], money.bands["low"], bottom.table["raw_score"]
'''
    assert reads_by_key(source, "x.py") == [
        "x.py:11: bottom['bottom_size']", "x.py:11: dose['n']", "x.py:11: money.pile['share']",
        "x.py:3: pile.get('value')", "x.py:3: shift['n_agents']"]


def test_studies_read_typed_results_by_attribute():
    """No study's pipeline, sentences, display or plots reads one of KEYLESS_RESULTS by string key."""
    found = [hit for path in study_sources()
             for hit in reads_by_key(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))]
    assert found == []


def test_the_old_result_keys_are_gone_from_studies_and_notebooks():
    """A grep for the old dict keys in the studies' code and the notebooks' code cells: `["n_rankable"]`,
    `['is_cap']`, `.get("candidate")` and the like."""
    pattern = re.compile(r"""(\[\s*|\.get\(\s*)(['"])(%s)\2""" % "|".join(OLD_KEYS))
    texts = {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8") for p in study_sources()}
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        texts[path.name] = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    hits = [f"{name}: {m.group(0)}" for name, text in texts.items() for m in pattern.finditer(text)]
    assert hits == []
    assert pattern.search("shift['n_rankable']") and pattern.search('pile.get("is_cap")')


def test_a_result_summary_shows_its_parts_and_dates():
    from upstream.analysis import credit, periods

    pile = credit.PileUp(value=50.0, n_credited=200, count=40, share=0.2, share_of_contacts=0.02, share_lower=0.15,
                         share_upper=0.26, expected_count=1.5, p_value=1e-9, above_share=0.0, resolution=0.01,
                         point_mass=True, is_cap=True)
    bands = pd.DataFrame({"contacts": [160, 40]}, index=pd.Index(["1.00–49.99", "at cap (50.00)"], name="band"))
    money = credit.CreditAnalysis(pile=pile, cap=50.0, dose=None, near=None, bands=bands)
    lines = money.summary().splitlines()
    assert lines[:4] == ["Goodwill credit: the pile-up (cap), the dose–response, CSAT at and just below the cap, and by "
                         "amount.", "  cap: 50", "  dose: None", "  near: None"]
    part = lines.index("pile:")
    assert lines[part + 1:part + 4] == ["  Credit pile-up: the amount most credited contacts received, and whether it "
                                        "is a point mass or a cap.", "    value: 50", "    n_credited: 200"]
    assert lines[-1] == "    is_cap: True" and lines[part - 3:part - 1] == ["1.00–49.99           160",
                                                                             "at cap (50.00)        40"]
    html = money._repr_html_()
    assert html.count('<div class="upstream-result">') == 2 and "<li>is_cap: True</li>" in html
    change = periods.PeriodChange(daily=pd.DataFrame(), source="given", day=pd.Timestamp("2026-08-16"))
    assert "  day: 2026-08-16 00:00:00" in change.summary().splitlines()
    with pytest.raises(FrozenInstanceError):
        money.cap = 40.0


def test_the_caterpillar_chart_is_bounded_in_height_at_twenty_thousand_agents():
    """agent_vs_system's caterpillar grows one row per agent up to MAX_HEIGHT inches, then draws the agents as a
    band (20,000 agents once made a figure 1,201 inches tall); every agent is still drawn."""
    import matplotlib.pyplot as plt

    from upstream.studies.agent_vs_system.plots import MAX_HEIGHT, caterpillar
    rng = np.random.default_rng(5)
    for n, height in ((40, 4.0), (146, 0.06 * 146 + 1.5), (20_000, MAX_HEIGHT)):
        effect = rng.normal(0, 0.4, n)
        frame = pd.DataFrame({"effect": effect, "lower": effect - 0.3, "upper": effect + 0.3,
                              "verdict": "not distinguishable from average"})
        fig = caterpillar(frame, "t")
        assert fig.get_size_inches()[1] == pytest.approx(height)
        assert len(fig.axes[0].collections[0].get_segments()) == n
        plt.close(fig)
