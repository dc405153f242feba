"""The words that distinguish one group's comments from the rest: "Fightin' Words" (Monroe, Colaresi &
Quinn 2008, Political Analysis 16(4), §3.5): log-odds ratios with an informative Dirichlet prior.

Comments arrive redacted (the study passes them through ``reporting.privacy.redact_comment``: e-mail
addresses, phone and card numbers masked); the masks are dropped here, so personal data never becomes
a word. Tokens are lower-case runs of letters (an inner apostrophe kept), two letters or more, less a
short list of English function words (`STOPWORDS`: "the", "on", "by" ...), which can separate groups
only through the phrases they sit in and tell a reader nothing on their own.

For word w, group i (one policy's comments) against j (every other comment), counts y, totals n and
the prior α_w = α₀·π_w (π_w the word's share of all comments, α₀ = `prior_share` × all tokens):

    δ_w = log[(y_iw + α_w)/(n_i + α₀ − y_iw − α_w)] − log[(y_jw + α_w)/(n_j + α₀ − y_jw − α_w)]
    σ²_w ≈ 1/(y_iw + α_w) + 1/(y_jw + α_w),        z_w = δ_w/σ_w.

The prior shrinks the log-odds of rare words toward zero, so a word does not rank high because it
happened to occur twice in one group. A word *distinguishes* the group when z_w exceeds the one-sided
Bonferroni bound over the vocabulary, Φ⁻¹(1 − 0.05/V) (family-wise 5% per group).
"""
from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pandas as pd
from scipy import stats

from .results import AnalysisResult, result

_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?")
_MASK = re.compile(r"\[(?:email|phone|card)\]")
STOPWORDS = frozenset("""a an and are as at be been but by can could did do does for from had has have he her his
how i i'm in is it it's its me my no not of on or our she so than that the their them then there they this to
too was we were what when which who why will with would you your""".split())
#: The prior's total weight as a share of all tokens.
PRIOR_SHARE = 0.1


def tokens(comment) -> list[str]:
    """Words of one redacted comment (masks removed), lower case, two letters or more, no STOPWORDS."""
    text = _MASK.sub(" ", str(comment)).lower()
    return [t for t in _TOKEN.findall(text) if len(t) >= 2 and t not in STOPWORDS]


def fightin_words(counts_i: Counter, counts_j: Counter, prior_share: float = PRIOR_SHARE) -> pd.DataFrame:
    """Per word: count (group i), count_other (j), log_odds (δ), se, z, sorted by z (largest first)."""
    vocab = sorted(set(counts_i) | set(counts_j))
    yi = np.array([counts_i.get(w, 0) for w in vocab], dtype=float)
    yj = np.array([counts_j.get(w, 0) for w in vocab], dtype=float)
    ni, nj = yi.sum(), yj.sum()
    total = yi + yj
    a0 = prior_share * total.sum()
    alpha = a0 * total / total.sum()
    delta = (np.log((yi + alpha) / (ni + a0 - yi - alpha)) - np.log((yj + alpha) / (nj + a0 - yj - alpha)))
    se = np.sqrt(1 / (yi + alpha) + 1 / (yj + alpha))
    out = pd.DataFrame({"count": yi.astype(int), "count_other": yj.astype(int), "log_odds": delta, "se": se,
                        "z": delta / se}, index=pd.Index(vocab, name="word"))
    return out.sort_values("z", ascending=False)


@result
class DistinctiveWords(AnalysisResult):
    """Distinctive words per group (Fightin' Words: log-odds with an informative Dirichlet prior)."""

    table: pd.DataFrame           # group, rank, word, count, count_other, log_odds, se, z, distinctive
    z_threshold: float            # the Bonferroni bound over the vocabulary
    vocabulary: int               # distinct words over all comments
    n_comments: dict              # comments per group
    skipped: tuple[str, ...] = ()  # groups with too few comments


def distinctive_words(redacted: pd.Series, groups: pd.Series, min_comments: int = 20, top: int = 10,
                      prior_share: float = PRIOR_SHARE, family: float = 0.05) -> DistinctiveWords:
    """For each group with at least `min_comments` (redacted) comments: its `top` words by z against all other
    comments, with count, count_other, log_odds, se, z, distinctive (z above the Bonferroni bound)
    and rank; with z_threshold, vocabulary, n_comments (per group) and skipped (groups with too few)."""
    ok = redacted.notna() & (redacted.astype(str).str.strip() != "")
    words = redacted[ok].map(tokens)
    grp = groups[ok].astype(str)
    per_group = {g: Counter(w for ws in words[grp == g] for w in ws) for g in sorted(grp.unique())}
    return words_from_counts(per_group, grp.value_counts(), min_comments, top, prior_share, family)


def words_from_counts(per_group: dict[str, Counter], n_comments: pd.Series, min_comments: int = 20, top: int = 10,
                      prior_share: float = PRIOR_SHARE, family: float = 0.05) -> DistinctiveWords:
    """``distinctive_words`` from the word counts of each group's comments (group → Counter of ``tokens``, in
    sorted group order) and the comments per group (a group without words has an empty Counter)."""
    everything = Counter()
    for c in per_group.values():
        everything.update(c)
    vocab = len(everything)
    threshold = float(stats.norm.isf(family / max(vocab, 1)))
    parts, skipped = [], []
    for g, counts in per_group.items():
        if n_comments[g] < min_comments:
            skipped.append(g)
            continue
        table = fightin_words(counts, everything - counts, prior_share).head(top)
        table = table.assign(distinctive=table["z"] > threshold, rank=np.arange(1, len(table) + 1))
        parts.append(table.reset_index().assign(group=g))
    cols = ["group", "rank", "word", "count", "count_other", "log_odds", "se", "z", "distinctive"]
    out = pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)
    return DistinctiveWords(out, z_threshold=threshold, vocabulary=vocab, n_comments=n_comments.to_dict(),
                            skipped=tuple(skipped))
