"""The glossary page every published page links to (glossary.html next to index.html): the statistical
terms the findings still use, each explained in a sentence or two for a reader who is not a statistician."""
from __future__ import annotations

from .privacy import escape_text

PAGE = "glossary.html"

#: (term, explanation), alphabetical; the findings use these words.
TERMS: list[tuple[str, str]] = [
    ("95% interval", "The range that, by the method's design, contains the true value in 95 of 100 repetitions of "
     "the data. A narrow interval means the data pin the number down; one that crosses zero means the direction "
     "is not settled."),
    ("adjusted (score, effect)", "Compared on the same contact mix: what an agent, channel or policy does once the "
     "policies, products, channels and issue types of its contacts are held fixed, so nobody is credited or blamed "
     "for the contacts they were given."),
    ("agent effect", "How much higher or lower an agent's customers score than an average agent's would on the same "
     "contacts, in score points. It is estimated from the agent's replies and shrunk toward zero when there are few."),
    ("agents with contacts, with replies, rankable", "Counts of agents always say which agents they cover: agents "
     "with contacts handled contacts in the period; agents with (CSAT) replies have at least one survey answer; "
     "rankable agents have enough replies for a reliable estimate (reliability at or above the threshold) and a "
     "survey process that is not under review."),
    ("AUC, DeLong interval", "AUC (area under the ROC curve): the chance that a randomly picked dissatisfied "
     "customer's comment scores lower than a satisfied customer's; 0.5 is guessing, 1 is perfect. DeLong's method "
     "gives its 95% interval."),
    ("bootstrap", "Refitting the model to many data sets simulated from the fitted model, to see how much the "
     "estimates would vary; intervals and probabilities about agents come from these refits."),
    ("boundary fit (variance estimated at zero)", "The model finds no detectable differences between the levels of a "
     "grouping factor (for example between agents) beyond chance, so it gives every level the same effect. This is "
     "a note about the model, not a finding: it does not prove there are no differences."),
    ("contact mix", "The policies, products, channels and issue types of the contacts an agent or a period handled."),
    ("family-wise interval (Bonferroni)", "An interval widened because many things are compared at once (for example "
     "12 policies), so that all of them together hold with 95% confidence; a policy is named only when its "
     "family-wise interval excludes zero."),
    ("false sign rate, verdict", "An agent is called above or below average only when the chance that the true "
     "effect has the other sign (the local false sign rate) is at most 5%; the findings say how many of the "
     "verdicts can be expected to be wrong. 'At least 95% probability' assumes the agent's non-respondents would "
     "score like comparable respondents; the tipping point says how far that assumption can move."),
    ("Holm-adjusted p", "A p-value corrected for the number of comparisons made (Holm's method), so that a list of "
     "'significant' results does not fill up with chance findings."),
    ("informative Dirichlet prior (Fightin' Words)", "A way to find the words that set one group's comments apart "
     "from all others (Monroe, Colaresi & Quinn 2008): it compares log-odds of each word, pulling rare words toward "
     "the overall rate so that a word seen twice does not top the list."),
    ("log-odds, odds ratio", "Odds are p/(1 − p); log-odds their logarithm. An odds ratio of 1.4 means 40% higher "
     "odds; differences in log-odds are how logistic models measure effects on rates."),
    ("NPS, adjusted Wald interval", "Net Promoter Score: the share of promoters (9–10) minus the share of detractors "
     "(0–6), in points from −100 to +100. The adjusted-Wald interval adds a few pseudo-answers so that the interval "
     "behaves well for small samples."),
    ("Oaxaca–Blinder decomposition", "Splits a change between two periods into the part due to a different contact "
     "mix and the part that happened within the same mix."),
    ("p-value", "The chance of a difference at least this large if there were truly none. Small values (below 0.05) "
     "mean chance is an unlikely explanation; they do not measure how large or important a difference is."),
    ("posterior (probability, variance)", "What the model says about an agent after seeing the agent's replies: the "
     "posterior variance is the uncertainty left, the posterior probability (for example of being in the bottom "
     "10%) the share of plausible values on that side."),
    ("random slope, varies between agents", "Whether a policy's effect is the same whoever handles the contact, or "
     "some agents handle it better; tested by letting the effect differ by agent."),
    ("reliability", "The share of the spread in agents' estimated effects that is real rather than noise from few "
     "replies (0: all noise; 1: measured exactly). Agents below the threshold are 'not enough responses to rank'."),
    ("Satterthwaite degrees of freedom", "The approximation (as in R's lmerTest) used to turn a mixed model's "
     "estimate and standard error into an interval and a p-value."),
    ("shrinkage", "Pulling an estimate from few replies toward the average, by how little those replies say; it "
     "stops a lucky or unlucky handful of replies from ranking an agent first or last."),
    ("sup-F test, change point", "A test that looks for the date at which a series (here daily handle time) breaks "
     "most clearly, with a p-value that allows for having searched over all dates."),
    ("survey process under review", "An agent whose rate of sending surveys or of getting replies is implausible "
     "against what the agent's own contacts predict (possible survey steering). Such agents get no verdict or rank "
     "until their survey practice is reviewed."),
    ("tipping point, δ-adjusted pattern-mixture", "Most invitations get no reply, and the replies cannot show how "
     "the others would have scored. The tipping point is the difference δ between non-respondents and comparable "
     "respondents at which a conclusion would no longer hold: a small δ means the conclusion leans on the "
     "assumption that non-respondents are like respondents."),
    ("top-box", "The share of replies in the scale's top category or categories (on CSAT 1–5: 4 and 5)."),
    ("weighting for who answers (inverse response propensity, Kish effective n)", "Replies are weighted by how "
     "unlikely a reply was given the contact's features, so that under-represented contacts count more; Kish's "
     "effective n is the number of equally weighted replies that would carry the same information."),
]


def glossary_html(title: str = "Glossary") -> str:
    """The glossary as a self-contained, offline HTML page (every term and explanation escaped)."""
    rows = "".join(f'<dt id="{escape_text(anchor(term))}">{escape_text(term)}</dt><dd>{escape_text(text)}</dd>'
                   for term, text in TERMS)
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1.0">'
            f"<title>{escape_text(title)}</title><style>body{{font-family:system-ui,sans-serif;max-width:46rem;"
            "margin:2rem auto;padding:0 1rem;line-height:1.5;color:#1f2933}dt{font-weight:600;margin-top:1rem}"
            "dd{margin-left:0}</style></head><body>"
            f'<p><a href="index.html">All findings</a></p><h1>{escape_text(title)}</h1>'
            "<p>The terms the findings use, in plain words.</p>"
            f"<dl>{rows}</dl></body></html>\n")


def anchor(term: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in term.lower()).strip("-")
