"""Comment sentiment from a data set that lives in SQL: the comment replies are streamed from the engine in
batches (``data.sql.comments.scored_comment_batches``), each batch redacted and scored with the pandas path's
scorer (``sentiment.score_comments``), and only sums are kept:

- counts per distinct sentiment value × CSAT score × NPS detractor (VADER rounds to 4 decimals, so at most
  20,001 values): DeLong's AUC is a function of the placement values, which depend on a score only through
  the counts of the other group below and at it — so the validation, and the mean, t interval and share
  below −0.05 per CSAT score, are exact (``auc_from_counts``, ``by_score_from_counts``);
- per agent n, X'1, X'y, 1'y, y'y and the total X'X of `sentiment ~ csat_score + mix`: the sentiment and
  disagreement models are the pandas path's `sentiment ~ mix + (1 | agent_id)` and `sentiment ~ csat_score +
  mix + (1 | agent_id)`, fitted by REML from these sums (``lmer_from_stats``: the same fit as from rows).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
from scipy import stats

from ..data.description import DEFAULT_CSAT, CsatScale
from ..data.model_formula import model_formula, varying
from ..data.sql import comments as sql
from ..models import GroupStats, lmer_from_stats
from ..survey.constants import AGENT, DETRACTOR_MAX
from . import sentiment
from .stream_sums import AgentSums, factor_design


@dataclass
class CommentSums:
    """What the comment_sentiment tables need of the scored comment replies (see the module docstring)."""

    counts: pd.DataFrame        # sentiment, csat, detractor (1/0, −1: no NPS), n
    sums: AgentSums             # per agent, `sentiment ~ csat_score + mix`
    levels: dict                # variable -> its levels (sorted text), csat_score first
    level_counts: dict          # variable -> comment replies per level
    n_replies: int              # CSAT replies (with or without a comment)

    @property
    def n_comments(self) -> int:
        return int(self.counts["n"].sum())

    @property
    def agents(self) -> pd.DataFrame:
        """Per agent (sorted as text): n and the sums."""
        return self.sums.agents.sort_index() if self.sums.agents is not None else pd.DataFrame()


def _score_counts(batch: pd.DataFrame) -> pd.DataFrame:
    """Comments per sentiment × csat × NPS detractor (1, 0; −1 without NPS) of one scored batch."""
    detractor = np.where(batch["nps"].isna(), -1, (batch["nps"] <= DETRACTOR_MAX).astype(int))
    return (pd.DataFrame({"sentiment": batch["sentiment"].to_numpy(float), "csat": batch["csat"].to_numpy(float),
                          "detractor": detractor})
            .groupby(["sentiment", "csat", "detractor"]).size().rename("n").reset_index())


def _score_new(comments, redact: Callable[[str], str], redacted: dict, scores: dict) -> None:
    """Redact and score each of `comments` (distinct texts) not yet in `redacted` (text → redacted text) and
    `scores` (text → sentiment): each distinct comment is scored once per stream (on the medium preset 2,693
    distinct texts among 39,933 comments)."""
    new = [text for text in comments if text not in redacted]
    if new:
        clean = [redact(text) for text in new]
        redacted.update(zip(new, clean))
        scores.update(zip(new, sentiment.score_comments(pd.Series(clean, dtype=object)).to_numpy(float)))


def comment_sums(ds, mix, redact: Callable[[str], str], rows: int = 100_000) -> CommentSums:
    """Stream the comment replies with a CSAT score, redact (`redact`: ``reporting.privacy.redact_comment``) and
    score them, and keep the sums (module docstring)."""
    found = sql.comment_levels(ds, ("csat", *mix))
    present = varying({m: len(found[m]) for m in mix}, mix)
    levels = {"csat_score": list(found["csat"].index), **{m: list(found[m].index) for m in present}}
    level_counts = {v: tuple(int(x) for x in found["csat" if v == "csat_score" else v]) for v in levels}
    sums, counts, redacted, scores = AgentSums(*factor_design(levels)), [], {}, {}
    for batch in sql.scored_comment_batches(ds, present, rows):
        comments = batch["comment"].astype(object).where(batch["comment"].notna(), "")
        _score_new(pd.unique(comments), redact, redacted, scores)
        text = comments.map(redacted)
        keep = text != ""
        batch = batch[keep].assign(comment=text[keep])
        if batch.empty:
            continue
        batch = batch.assign(sentiment=comments[keep].map(scores).astype(float),
                             csat_score=batch["csat"].astype(int).astype(str))
        sums.add(batch, batch["sentiment"].to_numpy(float))
        counts = [pd.concat([*counts, _score_counts(batch)]).groupby(["sentiment", "csat", "detractor"],
                                                                     as_index=False)["n"].sum()]
    empty = pd.DataFrame({"sentiment": [], "csat": [], "detractor": [], "n": []})
    return CommentSums(counts=counts[0] if counts else empty, sums=sums, levels=levels, level_counts=level_counts,
                       n_replies=sql.csat_replies(ds))


def auc_from_counts(values, n_positive, n_negative, level: float = 0.95) -> dict:
    """``sentiment.auc_delong`` from the counts of positives and negatives at each distinct score (exact:
    the placement values depend on a score only through the other group's counts below and at it)."""
    s = -np.asarray(values, dtype=float)
    order = np.argsort(s, kind="stable")
    s, p, q = s[order], np.asarray(n_positive, float)[order], np.asarray(n_negative, float)[order]
    m, n = p.sum(), q.sum()
    if m < 2 or n < 2:
        return {"auc": np.nan, "se": np.nan, "lower": np.nan, "upper": np.nan, "n_positive": int(m),
                "n_negative": int(n)}
    v10 = (np.cumsum(q) - q / 2) / n            # negatives below the value, ties ½
    v01 = 1.0 - (np.cumsum(p) - p / 2) / m      # 1 − positives below, ties ½
    auc = float((p * v10).sum() / m)
    var10 = float((p * (v10 - auc) ** 2).sum() / (m - 1))
    mean01 = float((q * v01).sum() / n)
    var01 = float((q * (v01 - mean01) ** 2).sum() / (n - 1))
    se = float(np.sqrt(var10 / m + var01 / n))
    z = stats.norm.ppf(0.5 + level / 2)
    return {"auc": auc, "se": se, "lower": max(0.0, auc - z * se), "upper": min(1.0, auc + z * se),
            "n_positive": int(m), "n_negative": int(n)}


def validate_from_counts(counts: pd.DataFrame, bar: float = 0.7, level: float = 0.95, scale: CsatScale = DEFAULT_CSAT,
                         nps: bool = True) -> sentiment.SentimentValidation:
    """``sentiment.validate`` from the counts per sentiment × csat × detractor."""
    cut, gate = sentiment.dissatisfied_codes(scale)
    rows = {}
    for name, part, positive in ((gate, counts, counts["csat"] <= cut),
                                 ("NPS 0–6", counts[counts["detractor"] >= 0], counts["detractor"] == 1)):
        if name == "NPS 0–6" and not nps:
            continue
        by = pd.DataFrame({"sentiment": part["sentiment"], "pos": np.where(positive[part.index], part["n"], 0),
                           "neg": np.where(positive[part.index], 0, part["n"])}).groupby("sentiment").sum()
        rows[name] = auc_from_counts(by.index.to_numpy(float), by["pos"], by["neg"], level)
    out = pd.DataFrame.from_dict(rows, orient="index")
    out["passes"] = out["lower"] >= bar
    out.index.name = "detractor definition"
    return sentiment.SentimentValidation(out, bar=bar, gate=gate)


def by_score_from_counts(counts: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """``sentiment.by_score`` from the counts: comments, mean sentiment, t interval, share below −0.05."""
    rows = {}
    for score, part in counts.groupby(counts["csat"].astype(int)):
        w, y = part["n"].to_numpy(float), part["sentiment"].to_numpy(float)
        k = w.sum()
        mean = float((w * y).sum() / k)
        sd = np.sqrt((w * (y - mean) ** 2).sum() / (k - 1)) if k > 1 else np.nan
        half = stats.t.ppf(0.5 + level / 2, k - 1) * sd / np.sqrt(k) if k > 1 else np.nan
        rows[int(score)] = {"comments": int(k), "sentiment": mean, "lower": mean - half, "upper": mean + half,
                            "share_negative": float(w[y < -0.05].sum() / k)}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "csat"
    return out


def group_stats(sums: CommentSums, with_score: bool) -> GroupStats:
    """GroupStats of `sentiment ~ [csat_score +] mix + (1 | agent_id)` from the sums."""
    keep = [k for k, c in enumerate(sums.sums.columns) if with_score or c is None or c[0] != "csat_score"]
    levels = {v: lv for v, lv in sums.levels.items() if with_score or v != "csat_score"}
    return sums.sums.group_stats("sentiment", levels, sums.level_counts, keep)


def agent_models(sums: CommentSums, min_comments: int = 5) -> tuple[sentiment.AgentSentiment, sentiment.Disagreement]:
    """The sentiment and disagreement models (``sentiment.agent_sentiment``, ``sentiment.disagreement``) from the
    per-agent sums."""
    mix = [v for v in sums.levels if v != "csat_score"]
    level_fit = lmer_from_stats(group_stats(sums, with_score=False))
    level = sentiment.AgentSentiment(test=sentiment.agent_variance_test(level_fit, AGENT),
                                     formula=model_formula("sentiment", mix), fit=level_fit)
    fit = lmer_from_stats(group_stats(sums, with_score=True))
    counts = sums.agents["n"].astype(np.int64).sort_values(ascending=False, kind="stable")
    disagree = sentiment.disagreement_from_fit(fit, counts, model_formula("sentiment", ["csat_score", *mix]),
                                               min_comments)
    return level, disagree
