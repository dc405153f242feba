"""What every study's plots share: figures made without pyplot, takeaway titles on the left, the verdict palette.

Figures are made with `matplotlib.figure.Figure`, not pyplot, so a study can build them all in one
step without the notebook's inline backend showing them there; a notebook shows one with `display`."""
from __future__ import annotations

from ...analysis.verdicts import ABOVE, BELOW, NEUTRAL, NOT_RANKABLE, UNDER_REVIEW

PALETTE = {ABOVE: "#1b7837", BELOW: "#b2182b", NEUTRAL: "#4d4d4d", NOT_RANKABLE: "#bdbdbd", UNDER_REVIEW: "#e08214"}


def axes(width: float, height: float):
    """A new figure (not registered with pyplot) and its axes. Its tight layout is done when it is drawn, by
    any route (a report's PNG, a notebook's inline display): a study run whose figures are never drawn (a Python
    session, a test) does not place their labels. matplotlib is imported here, when a figure is built."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="tight")
    return fig, fig.add_subplot()


def finish(fig, ax, title: str, left: bool = False):
    """Takeaway title on the left, no top/right (and optionally left) spines. seaborn is imported here, when a figure
    is built: with matplotlib (seaborn imports pyplot) it costs a process 0.4 s of imports, which one that only reads
    the studies' declarations (the runner) does not need."""
    import seaborn as sns

    ax.set_title(title, loc="left", fontsize=11)
    sns.despine(ax=ax, left=left)
    return fig
