"""Every table a study page shows is the published CSV's numbers in readable form: each study runs on the
bundled sample, publishes tables/*.csv, and every cell of every page table (reporting.display.pages, what the
notebooks show) is compared with the CSV row it comes from, to the digits the page shows. No nan, NaN, <NA>
or None reaches a page, and no shown column is empty in every row."""
from __future__ import annotations

import math
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from shared_data import shared_cache

from upstream.reporting.display.common import DASH
from upstream.reporting.notebook import table_html
from upstream.studies import STUDY_NAMES, RunCache, StudyResult, declared
from upstream.studies.steps import SHARED_TABLES

NUMBER = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?")


@pytest.fixture(scope="module")
def published(sample, tmp_path_factory):
    """(page tables, published CSVs, results) of every study on the bundled sample, with the run cache and
    seed the study modules' sample tests use (tests/study_data.py: models fitted once per test run)."""
    return run_every_study(sample[0], tmp_path_factory.mktemp("run"), shared_cache("sample"))


@pytest.fixture(scope="module")
def held_out(tmp_path_factory):
    """The same on an operation no test was written against: a small simulated one with another seed."""
    from upstream.data import load_dataset
    from upstream.simulate import PRESETS, simulate

    folder = tmp_path_factory.mktemp("held-out")
    simulate(PRESETS["small"], seed=11).write(folder / "data")
    return run_every_study(load_dataset(folder / "data", validate=False), folder / "run", RunCache())


def review_order() -> list[str]:
    """Every study: those of the quarterly review in its order (the order its index lists them in), then any
    other by name."""
    review = yaml.safe_load((Path(__file__).resolve().parents[1] / "studies" / "quarterly_review.yaml").read_text())
    order = [Path(path).stem for path in review["notebooks"]]
    return order + [name for name in STUDY_NAMES if name not in order]


def run_every_study(ds, folder, cache: RunCache):
    """One run of every study sharing `cache` like the quarterly review: each publishes its tables/*.csv."""
    shown, results = {}, {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in review_order():
            result = declared(name).run(ds, {"n_boot": 100, "seed": 7, "pseudonym_salt": "display-test"}, cache)
            result.publish(folder / name)
            shown[name] = result.page_tables()
            results[name] = result
    csv = {(name, path.stem): pd.read_csv(path, keep_default_na=True)
           for name in STUDY_NAMES for path in (folder / name / "tables").glob("*.csv")}
    return shown, csv, results


def numbers(cell: str) -> list[tuple[float, float]]:
    """The numbers written in a cell, each with half a unit of its last digit (the rounding it allows)."""
    out = []
    for text in NUMBER.findall(cell.replace("−", "-")):
        decimals = len(text.split(".")[1]) if "." in text else 0
        out.append((float(text.replace(",", "")), 0.5 * 10 ** -decimals))
    return out


def check_cell(where: str, cell: str, expected) -> None:
    """`cell` writes the numbers `expected` (a list; NaN means the cell must be a dash) to its digits."""
    expected = [float(e) for e in expected]
    if any(math.isnan(e) for e in expected):
        assert cell == DASH, f"{where}: {cell!r} for an undefined value"
        return
    found = numbers(cell)
    assert len(found) == len(expected), f"{where}: {cell!r} does not show {expected}"
    for (value, half), want in zip(found, expected):
        assert abs(value - want) <= half * (1 + 1e-9) + 1e-12, f"{where}: {cell!r} is not {want}"


def check_p(where: str, cell: str, p: float) -> None:
    if math.isnan(p):
        assert cell == DASH, where
    elif cell == "<0.001":
        assert p < 0.001, f"{where}: <0.001 for p = {p}"
    else:
        check_cell(where, cell, [p])
        assert p >= 0.001, where


# ------------------------------------------------------------------ what each shown column comes from
# a column spec: ("num", [csv columns], scale) | ("p", csv column) | ("text", csv column) | a function(row) -> cell check


def num(*columns, scale=1.0):
    return ("num", list(columns), scale)


def p(column):
    return ("p", column)


def text(column):
    return ("text", column)


AGENT = {"by": "agent_id"}
SCREEN = {"contacts": num("contacts"), "invitation rate": num("invitation_rate"),
          "expected": num("expected_invitation_rate"), "z (invitations)": num("z_invitation"),
          "z (after adverse contacts)": num("z_invitation_adverse"), "response rate": num("response_rate"),
          "expected ": num("expected_response_rate"), "z (replies)": num("z_response")}

SPECS = {
    ("agent_vs_system", "variance_shares"): (
        {"by": "component", "label": lambda c: c.replace("_", " ")},
        {"share (%)": num("share", scale=100), "95% interval (%)": num("lower", "upper", scale=100),
         "p (no effect)": p("p_value")}),
    ("agent_vs_system", "policy_effects"): (
        {"by": "policy"},
        {"contacts": num("n_contacts"), "replies": num("n_responses"), "effect": num("effect"),
         "95% CI": num("lower", "upper"), "family-wise 95% CI": num("lower_adj", "upper_adj"), "p (Holm)": p("p_holm"),
         "varies by agent (p)": p("agent_variation_p"), "top quarter of agents": num("top_quarter"),
         "top quarter, family-wise upper bound": num("top_quarter_upper_adj"),
         "agents' SD under it": num("top_quarter_agent_sd")}),
    ("agent_vs_system", "survey_screen"): (AGENT, SCREEN),
    ("survey_health", "survey_screen"): (AGENT, SCREEN),
    ("agent_vs_system", "rank_shift"): (
        AGENT, {"replies": num("n_responses"), "raw score": num("raw_score"), "adjusted score": num("adjusted_score"),
                "raw rank": num("raw_rank"), "adjusted rank": num("adjusted_rank"),
                "rank interval": num("rank_lower", "rank_upper"), "P(bottom 10%)": num("p_bottom_decile")}),
    ("agent_scorecards", "scorecards"): (
        AGENT, {"replies": num("n_responses"), "CSAT raw": num("csat_raw"), "CSAT adjusted": num("csat_adjusted"),
                "95% interval": num("csat_lower", "csat_upper"), "top-box raw %": num("top_box_raw", scale=100),
                "top-box shrunken %": num("top_box_shrunken", scale=100),
                "top-box adjusted %": num("top_box_adjusted", scale=100), "NPS raw": num("nps_raw"),
                "NPS interval": num("nps_lower", "nps_upper"), "NPS shrunken": num("nps_shrunken"),
                "reliability": lambda row, cell: 0 <= row["reliability"] - float(cell) < 0.01,   # floored
                "rank (interval)": lambda row, cell: (cell == row["verdict"]) if pd.isna(row["adjusted_rank"]) else
                [v for v, _ in numbers(cell)] == [row["adjusted_rank"], row["rank_lower"], row["rank_upper"]],
                "verdict": text("verdict")}),
    ("survey_health", "response_model"): (
        {"by": "term"}, {"odds_ratio": num("odds_ratio"), "estimate": num("estimate"), "std_error": num("std_error"),
                         "p_value": p("p_value")}),
    ("survey_health", "nps_by_channel"): (
        {"by": "channel"}, {c: num(c) for c in ("n", "p_promoter", "p_detractor", "nps", "se", "lower", "upper")}),
    ("survey_health", "weighted_scores"): (
        {"by": "channel"}, {c: num(c) for c in ("replies", "csat", "csat_weighted", "top_box", "top_box_weighted",
                                                "nps", "nps_weighted", "kish_n")}),
    ("survey_health", "tipping_point"): ({"by": "delta", "numeric": True},
                                         {"mean CSAT over all contacts": num("mean")}),
    ("survey_health", "verdict_tipping_points"): (
        AGENT, {"verdict": text("verdict"), "reply_share": num("reply_share"), "tipping_delta": num("tipping_delta")}),
    ("channel_audit", "channel_differences"): (
        {"by": ["metric", "channel"]},
        {"unit": text("unit"), "raw": num("raw"), "raw 95% CI": num("raw_lower", "raw_upper"), "adjusted": num("effect"),
         "adjusted family-wise 95% CI": num("lower_adj", "upper_adj"), "p (Holm)": p("p_holm")}),
    ("channel_audit", "channel_response"): (
        {"by": "channel"},
        {"contacts with a CSAT reply (%)": num("reply_share", scale=100), "CSAT of replies": num("csat"),
         "weighted for who answers": num("csat_weighted"), "adjusted effect": num("effect"),
         "family-wise 95% CI": num("lower_adj", "upper_adj"), "tipping point δ (points)": num("tipping_delta")}),
    ("policy_friction", "credit_dose_response"): (
        {"by": "term"}, {"estimate (points)": num("estimate"), "95% CI": num("lower", "upper"), "p": p("p_value")}),
    ("policy_friction", "credit_cap_neighbours"): (
        {"by": "group"}, {c: num(c) for c in ("n", "mean", "lower", "upper")}),
    ("comment_sentiment", "sentiment_validation"): (
        {"by": "detractor definition"},
        {**{c: num(c) for c in ("auc", "se", "lower", "upper", "n_positive", "n_negative")},
         "passes": lambda row, cell: cell == ("yes" if row["passes"] else "no")}),
    ("comment_sentiment", "sentiment_by_score"): (
        {"by": "csat", "numeric": True},
        {c: num(c) for c in ("comments", "sentiment", "lower", "upper", "share_negative")}),
    ("comment_sentiment", "agent_sentiment"): (
        AGENT, {**{c: num(c) for c in ("comments", "csat_effect", "sentiment_effect", "sentiment_cond_se",
                                       "beyond_score", "beyond_score_cond_se", "beyond_score_z")},
                "disagrees": lambda row, cell: cell == ("yes" if row["disagrees"] else "no")}),
    ("metric_health", "rushing"): (
        AGENT, {"contacts": num("contacts"),
                "handle time vs average agent": lambda row, cell: check_cell(
                    "rushing", cell.rstrip("%"), [100 * (row["handle_time_ratio"] - 1)]) is None,
                "repeat odds vs average agent": lambda row, cell: check_cell(
                    "rushing", cell.lstrip("×"), [row["repeat_odds_ratio"]]) is None,
                "P(fast)": num("p_fast"), "P(more repeats)": num("p_repeats"), "P(both)": num("p_quadrant")}),
    ("metric_health", "effect_correlations"): (
        {"by": "pair", "label": {"handle_time~repeat": "handle time and repeat contacts",
                                 "handle_time~csat": "handle time and CSAT",
                                 "repeat~csat": "repeat contacts and CSAT"}.get},
        {"agents": num("n_agents"), "correlation": num("rho"), "95% interval": num("lower", "upper"),
         "plain correlation of estimates": num("naive"), "95% interval ": num("naive_lower", "naive_upper")}),
    ("metric_health", "monthly_metrics"): (
        {"by": "month"},
        {"contacts": num("contacts"), "mean handle time (s)": num("handle_time_mean"),
         "95% CI": num("handle_time_lower", "handle_time_upper"), "median (s)": num("handle_time_median"),
         "repeat contacts (%)": num("repeat_rate", scale=100), "95% CI ": num("repeat_lower", "repeat_upper", scale=100),
         "marked resolved (%)": num("marked_resolved_rate", scale=100),
         "95% CI  ": num("marked_resolved_lower", "marked_resolved_upper", scale=100)}),
    ("metric_health", "period_changes"): (
        {"by": "metric", "label": {"handle_time": "handle time", "repeat": "repeat contacts"}.get},
        {"periods": lambda row, cell: cell == f"{row['first']} → {row['last']}",
         "raw": lambda row, cell: check_cell("period", cell, [row["raw_first"], row["raw_last"]] if row["metric"] == "handle_time" else
                                             [100 * row["raw_first"], 100 * row["raw_last"]]) is None,
         "change, same contact mix": num("estimate", scale=100), "95% interval": num("lower", "upper", scale=100),
         "p": p("p_value")}),
    ("metric_health", "contact_metrics"): (
        {"by": "contact metric"},
        {"CSAT difference (points)": num("estimate"), "95% interval": num("lower", "upper"), "p": p("p_value")}),
    ("metric_health", "resolution_agreement"): (
        {"by": "kind"}, {"contacts": num("contacts"), "share (%)": num("share", scale=100),
                         "95% interval (%)": num("lower", "upper", scale=100)}),
    ("metric_health", "overclaim"): (
        AGENT, {"contacts": num("contacts"), "marked resolved (%)": num("marked_resolved", scale=100),
                "resolved but came back (%)": num("overclaim_rate", scale=100),
                "95% interval": num("overclaim_lower", "overclaim_upper", scale=100),
                "expected (%)": num("overclaim_expected", scale=100), "z": num("overclaim_z"),
                "flagged": lambda row, cell: cell == ("yes" if row["overclaim_flag"] else "no")}),
    ("metric_health", "interactions_curve"): (
        {"by": "n_interactions", "numeric": True},
        {"contacts": num("contacts"), "replies": num("replies"), "raw CSAT": num("raw_csat"),
         "expected CSAT (same mix)": num("expected"), "95% interval": num("lower", "upper")}),
    ("trends", "trend_decomposition"): (
        {"by": "part", "label": lambda part: {"first_level": "expected CSAT, first period",
                                             "last_level": "expected CSAT, last period", "change": "change",
                                             "mix": "because the contact mix changed",
                                             "within": "within the same mix"}.get(
            part, "   of which " + part.replace("mix: ", "").replace("_", " "))},
        {"estimate": num("estimate"), "95% interval (bootstrap)": num("lower", "upper"),
         "95% interval (Satterthwaite)": num("satterthwaite_lower", "satterthwaite_upper")}),
    ("trends", "mix_shares"): (
        {"by": ["variable", "level"], "label": lambda v, lvl: f"{v.replace('_', ' ')}: {lvl}"},
        {"first period (%)": num("share_first", scale=100), "last period (%)": num("share_last", scale=100),
         "change (points)": num("change", scale=100)}),
    ("trends", "weekly_scores"): (
        {"by": "week"},
        {"replies": num("replies"), "CSAT": num("csat"), "95% CI": num("csat_lower", "csat_upper"),
         "top-box (%)": num("top_box", scale=100), "95% CI ": num("top_box_lower", "top_box_upper", scale=100),
         "NPS": num("nps"), "95% CI  ": num("nps_lower", "nps_upper"),
         "same mix as the first period": ("other", "within_mix_weekly", "expected_first_mix"),
         "95% CI   ": ("other", "within_mix_weekly", "lower", "upper")}),
    ("trends", "period_scores"): (
        {"by": "period"},
        {"replies": num("replies"), "CSAT": num("csat"), "95% CI": num("csat_lower", "csat_upper"),
         "top-box (%)": num("top_box", scale=100), "95% CI ": num("top_box_lower", "top_box_upper", scale=100),
         "NPS": num("nps"), "95% CI  ": num("nps_lower", "nps_upper")}),
    ("qa_sample", "qa_plan"): (
        AGENT, {"replies": num("n_replies"), "reliability now": num("reliability"), "reviews": num("reviews"),
                "reliability after": num("reliability_after"), "gain": num("gain"), "reason": text("reason")}),
    ("qa_sample", "qa_sample"): (
        {"by": "contact_id"},
        {"agent": text("agent_id"), "opened": lambda row, cell: row["opened_at"].startswith(cell),
         "channel": text("channel"), "policy": text("policy"), "issue type": text("issue_type")}),
}


def rows_by_label(csv: pd.DataFrame, how: dict) -> dict:
    """The CSV's rows by the label the page shows for them."""
    by = how["by"] if isinstance(how["by"], list) else [how["by"]]
    label = how.get("label")
    out = {}
    for _, row in csv.iterrows():
        key = tuple(row[b] for b in by)
        shown = label(*key) if label else (key[0] if len(key) == 1 else key)
        out[float(shown) if how.get("numeric") else shown if isinstance(shown, tuple) else str(shown)] = row
    return out


def check_table(study: str, name: str, shown, csv: dict) -> int:
    """Compare every cell of one shown table with its CSV; returns the number of cells compared."""
    how, columns = SPECS[(study, name)]
    source = csv[(study, shown.source)]
    rows = rows_by_label(source, how)
    frame = shown.frame
    assert set(frame.columns) <= set(columns), f"{study}/{name}: no spec for {set(frame.columns) - set(columns)}"
    compared = 0
    for label, cells in frame.iterrows():
        key = (float(label) if how.get("numeric") else
               tuple(label) if isinstance(label, tuple) else str(label))
        assert key in rows, f"{study}/{name}: row {label!r} is not in tables/{shown.source}.csv"
        row = rows[key]
        for column, cell in cells.items():
            where = f"{study}/{name}[{label!r}, {column!r}]"
            spec = columns[column]
            if callable(spec):
                assert spec(row, cell), f"{where}: {cell!r} does not match {dict(row)}"
            elif spec[0] == "num":
                check_cell(where, cell, [spec[2] * row[c] for c in spec[1]])
            elif spec[0] == "p":
                check_p(where, cell, float(row[spec[1]]))
            elif spec[0] == "text":
                assert cell == str(row[spec[1]]), f"{where}: {cell!r} is not {row[spec[1]]!r}"
            else:                                            # ("other", table, columns...): same key, another CSV
                other = csv[(study, spec[1])].set_index(how["by"]).loc[key]
                check_cell(where, cell, [other[c] for c in spec[2:]])
            compared += 1
    return compared


CHECKED_ELSEWHERE = {"verdict_counts", "channel_summary", "policy_outcomes", "policy_words", "interactions_bands"}
MODEL_DETAILS = {"variance_components"}      # the fit's variance parameters, shown with the analyst's notes


def test_every_shown_table_equals_its_published_csv(published):
    compared = compare_every_table(published)
    # the tables issue 23 found empty or with NaN are there, and full
    assert compared[("agent_vs_system", "survey_screen")] == 5 * 8
    assert compared[("agent_vs_system", "rank_shift")] == 12 * 7
    assert compared[("survey_health", "survey_screen")] == 5 * 8
    assert "issue type" in published[0]["agent_vs_system"]["variance_shares"].frame.index
    assert len(compared) == 32


def test_a_held_out_operation_shows_its_csv_numbers_and_nothing_undefined(held_out):
    compared = compare_every_table(held_out)
    assert len(compared) >= 25 and sum(compared.values()) > 1000
    check_nothing_undefined_or_empty(held_out[0])


def compare_every_table(published) -> dict:
    shown, csv, _ = published
    compared = {}
    for study, tables in shown.items():
        for name, table in tables.items():
            if name in MODEL_DETAILS:
                assert table.source is None
                continue
            assert (study, table.source) in csv, f"{study}/{name}: tables/{table.source}.csv was not published"
            if name not in CHECKED_ELSEWHERE:
                compared[(study, name)] = check_table(study, name, table, csv)
    assert set(compared) | {(s, n) for s in shown for n in shown[s] if n in CHECKED_ELSEWHERE | MODEL_DETAILS} \
        == {(s, n) for s in shown for n in shown[s]}
    return compared


def test_no_undefined_value_reaches_a_page_and_no_column_is_empty(published):
    check_nothing_undefined_or_empty(published[0])


def check_nothing_undefined_or_empty(shown) -> None:
    for study, tables in shown.items():
        for name, table in tables.items():
            html = table_html(table.frame, table.caption, table.notes)
            for word in ("nan", "NaN", "<NA>", "&lt;NA&gt;", "None"):
                assert not re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", html), f"{study}/{name} shows {word}"
            for column in table.frame.columns:
                values = table.frame[column].astype(str).str.strip()
                assert not values.isin([DASH, ""]).all(), f"{study}/{name}: column {column!r} is empty in every row"
            dashed = (table.frame == DASH).any().any() or DASH in map(str, table.frame.index)
            assert bool(table.notes) == dashed, f"{study}/{name}: a dash needs its note, a note its dash"
            if dashed:
                assert table.notes[0].startswith(f"{DASH}: ") and f"<p class=\"upstream-table-note\">{DASH}: " in html


def test_tables_shown_in_another_shape_equal_their_csv(published):
    shown, csv, _ = published
    effects = csv[("agent_vs_system", "agent_effects")]
    counts = shown["agent_vs_system"]["verdict_counts"].frame["agents"]
    assert counts.map(int).to_dict() == effects["verdict"].value_counts().to_dict()

    summary = csv[("channel_audit", "channel_summary")].set_index("channel")
    table = shown["channel_audit"]["channel_summary"].frame
    for channel in summary.index:
        check_cell("contacts", table.loc["contacts", channel], [summary.loc[channel, "contacts"]])
        check_cell("share", table.loc["share of contacts (%)", channel], [100 * summary.loc[channel, "share"]])
        row = summary.loc[channel]
        check_cell("csat", table.loc["CSAT (mean of replies)", channel], [row["csat"], row["csat_lower"], row["csat_upper"]])
        check_cell("handle", table.loc["handle time, median (minutes)", channel],
                   [row["handle_minutes"], row["handle_minutes_lower"], row["handle_minutes_upper"]])
        check_cell("fcr", table.loc["first-contact resolution (%)", channel],
                   [100 * row["fcr"], 100 * row["fcr_lower"], 100 * row["fcr_upper"]])

    outcomes = csv[("policy_friction", "policy_outcomes")].set_index(["outcome", "policy"])
    table = shown["policy_friction"]["policy_outcomes"].frame
    for column, outcome in (("CSAT (points)", "csat"), ("NPS (points)", "nps"),
                            ("repeat within 7 days (pp)", "repeat"), ("escalated (pp)", "escalation")):
        for policy, cell in table[column].items():
            row = outcomes.loc[(outcome, policy)]
            check_cell(f"{policy}/{outcome}", cell, [row["effect"], row["lower_adj"], row["upper_adj"]])

    words = csv[("policy_friction", "policy_words")]
    table = shown["policy_friction"]["policy_words"].frame
    for policy, cell in table["distinctive words (z)"].items():
        hits = words[(words["policy"] == policy) & words["distinctive"]]
        expected = ", ".join(f"{w} ({z:.1f})" for w, z in zip(hits["word"], hits["z"])) or "none beyond chance"
        assert cell == expected

    bands = csv[("metric_health", "interactions_bands")].set_index("band")
    comparisons = csv[("metric_health", "interactions_comparisons")].set_index("comparison")
    table = shown["metric_health"]["interactions_bands"].frame
    for band, row in bands.iterrows():
        assert table.loc[band, "interactions"] == row["counts"]
        check_cell(band, table.loc[band, "contacts"], [row["contacts"]])
        check_cell(band, table.loc[band, "expected CSAT"], [row["expected"]])
        check_cell(band, table.loc[band, "95% interval"], [row["lower"], row["upper"]])
    for comparison, row in comparisons.iterrows():
        check_cell(comparison, table.loc[comparison, "expected CSAT"], [row["estimate"]])
        check_cell(comparison, table.loc[comparison, "95% interval"], [row["lower"], row["upper"]])


def test_a_cell_that_misstates_its_csv_fails_the_comparison(published):
    """The comparison can fail: one digit changed in a shown cell is caught."""
    shown, csv, _ = published
    table = shown["agent_vs_system"]["policy_effects"]
    cell = table.frame.iloc[0]["effect"]
    wrong = cell[:-1] + str((int(cell[-1]) + 1) % 10)
    table.frame.iloc[0, table.frame.columns.get_loc("effect")] = wrong
    try:
        with pytest.raises(AssertionError, match=r"agent_vs_system/policy_effects\[.*'effect'\]"):
            check_table("agent_vs_system", "policy_effects", table, csv)
    finally:
        table.frame.iloc[0, table.frame.columns.get_loc("effect")] = cell
    assert np.isfinite(float(cell))


# ------------------------------------------------------------------ the leadership text of the same run


def all_sentences(results) -> dict[str, list[str]]:
    return {name: [*r.findings, *r.health] for name, r in results.items()}


def test_sentences_have_no_markup_no_undefined_values_and_no_fractional_people(published):
    _, _, results = published
    for name, sentences in all_sentences(results).items():
        for sentence in sentences:
            assert "`" not in sentence, f"{name}: a backtick would show literally: {sentence}"
            assert not re.search(r"(?<![\w-])(nan|NaN|<NA>|None)(?![\w-])", sentence), f"{name}: {sentence}"
            assert not re.search(r"about \d+\.\d+ (of these|\(the sum)", sentence), f"{name}: {sentence}"
            assert not re.search(r"\b1 of (them|the \d+) have\b", sentence), f"{name}: {sentence}"


def test_agent_counts_say_which_agents_they_cover_and_reconcile(published):
    _, csv, results = published
    effects = csv[("agent_vs_system", "agent_effects")]
    screen = csv[("agent_vs_system", "survey_screen")]
    counts = effects["verdict"].value_counts()
    review, few = counts["survey process under review"], counts["not enough responses to rank"]
    rankable = len(effects) - review - few
    with_contacts, with_replies = len(screen), len(effects)
    assert with_contacts == 150 and with_replies == 146 and rankable == 102       # the sample: 4 agents never answered
    verdict = next(s for s in results["agent_vs_system"].findings if "agents with CSAT replies" in s)
    assert verdict.startswith(f"Of the {with_replies} agents with CSAT replies, {review} are under review for their "
                              f"survey process and get no verdict; {few} have too few replies to rank")
    assert f"which leaves {rankable} rankable" in verdict
    shift = next(s for s in results["agent_vs_system"].findings if s.startswith("A raw-average ranking"))
    assert shift.startswith(f"A raw-average ranking of the {with_replies - review} agents with CSAT replies and no "
                            "survey review")
    card = results["agent_scorecards"].findings[0]
    assert card.startswith(f"{rankable} of the {with_replies} agents with CSAT replies have enough replies to be ranked")
    flagged = int(screen["flagged"].sum())
    assert flagged == review
    survey = next(s for s in results["survey_health"].findings if "under review for their survey process" in s)
    assert survey.startswith(f"{flagged} of the {with_contacts} agents with contacts are under review")
    plan = results["qa_sample"].findings[0]
    assert f"of the {with_contacts} agents with contacts" in plan


def test_answered_and_csat_reply_shares_are_explained_where_they_appear(published):
    _, csv, results = published
    rates = csv[("survey_health", "response_rates")]
    answered = rates.loc[rates["feature"] == "overall", "rate"].item()
    findings = results["survey_health"].findings
    first = next(s for s in findings if "survey invitations were answered" in s)
    assert first.startswith(f"{100 * answered:.0f}% of ") and "with or without a CSAT score" in first
    tip = next(s for s in findings if s.startswith("Only "))
    share = results["survey_health"].values.tipping.response_share
    # the tipping point counts replies per contact (never-invited contacts too), and says so
    assert tip.startswith(f"Only {100 * share:.0f}% of the period's contacts have a CSAT reply")
    fragile = next(s for s in findings if s.startswith("The most fragile"))
    assert "The verdicts' 'at least 95% probability' assumes non-respondents score like comparable respondents: a " \
        "verdict that fails at a small shift is a reason to look closer (a QA review), not settled." in fragile


def test_the_index_repeats_no_sentence_and_lists_model_notes_below_the_findings(published):
    from upstream.reporting.notebook import split_model_notes
    from upstream.runner.index_page import group_findings

    _, _, results = published
    blocks = []
    for name, r in results.items():
        findings, notes = split_model_notes(r.findings, r.health)
        assert not set(findings) & set(notes)
        blocks.append({"title": r.title, "sentences": findings, "notes": notes, "group": r.group,
                       "href": f"{name}.html"})
    policy = next(s for s in blocks[0]["sentences"] if "policies lower CSAT" in s)
    assert any(policy in b["sentences"] for b in blocks[1:]), "the sample's two studies share the policy sentence"
    shown = [b for g in group_findings(blocks) for b in g["blocks"]]
    sentences = [s for b in shown for s in b["sentences"]]
    assert len(sentences) == len(set(sentences)), "a sentence is repeated verbatim on the index"
    notes = [n for b in shown for n in b["notes"]]
    assert len(notes) == len(set(notes))
    pointer = next(s for b in shown for s in b["sentences"] if s.endswith(f"(as under '{results['agent_vs_system'].title}' above)."))
    assert pointer.startswith(policy.split(":")[0])


def test_no_two_studies_declare_a_table_of_the_same_name():
    """A run's notebooks share one tables/ folder (quarterly_review): a name two studies use for different
    tables would let the later study overwrite the earlier one's, and the earlier study's findings could no
    longer be checked against it (policy_friction's outcome table once replaced agent_vs_system's
    policy_effects.csv). Each study declares the tables it publishes (``STUDY.tables``); only a table of a
    shared step (``steps.SHARED_TABLES``: the survey screen, from the run's cache) may be declared twice."""
    owners: dict[str, list[str]] = {}
    for name in STUDY_NAMES:
        for table in declared(name).tables:
            owners.setdefault(table, []).append(name)
    twice = {table: names for table, names in owners.items() if len(names) > 1}
    assert twice == {"survey_screen": ["agent_vs_system", "survey_health"]} and set(twice) <= set(SHARED_TABLES)
    assert {"policy_effects", "policy_outcomes", "agent_effects"} <= set(owners)


def test_a_shared_table_is_the_same_table_wherever_it_is_published(published):
    """(The nine studies' results are the ones the page tests already made, in the review's order.)"""
    _, csv, results = published
    for table in SHARED_TABLES:
        publishers = [name for name, result in results.items() if table in result.tables]
        assert publishers == ["agent_vs_system", "survey_health"]
        first = results[publishers[0]].published_table(table)
        assert all(results[name].published_table(table).equals(first) for name in publishers[1:])
    assert {name for name, _ in csv} == set(STUDY_NAMES)


def test_a_study_cannot_publish_a_table_it_does_not_declare(tmp_path):
    frame = pd.DataFrame({"week": ["2026-W27"], "csat": [4.1]})
    result = StudyResult(study="trends", title="Trends", period="Jul 2026", parameters=declared("trends").parameters(),
                         findings=[], tables={"weekly_scores": frame, "weekly_scorez": frame})
    with pytest.raises(ValueError) as err:
        result.publish(tmp_path)
    assert str(err.value) == ("trends made the table(s) weekly_scorez, which upstream.studies.trends.STUDY.tables "
                              "does not declare")
    assert not (tmp_path / "tables").exists()

