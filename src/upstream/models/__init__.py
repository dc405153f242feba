"""Mixed models for ratings data with lme4's formula syntax: `lmer` (linear), `glmer`
(logistic, Laplace or adaptive quadrature) and `clmm` (cumulative logit, ordinal::clmm);
`lmer_from_stats` fits `y ~ X + (1 | g)` from per-group sums (`GroupStats`) without the rows;
`crossed_fit` fits `y ~ X + (1 | agent) + (1 | customer)` from sums in O(N) (`CrossedSums`; moments + GLS).
A multiple-membership term `(1 | mm(agent_id))` (a contact shared by several agents, weights
summing to 1: `lmer(..., membership={"agent_id": table})`, membership.py) is fitted by lmer (REML/ML,
Satterthwaite, modes, bootstrap) and glmer (Laplace), as lme4 fits it with Zt replaced by the weights.

Bad input raises `ModelInputError` (a ValueError; `FormulaError` is one kind) before any fitting,
with a message naming the column or argument, the rule and a few offending rows (checks.py)."""
from .bootstrap import BootstrapResult
from .checks import ModelInputError
from .crossed import CrossedFit, CrossedSums, crossed_fit
from .design import MissingGroupWarning, RankDeficiencyWarning
from .fit import lmer, lmer_from_stats
from .formula import FormulaError, parse_formula
from .glmm import SeparationWarning, clmm, glmer
from .group_stats import ColumnTerms, GroupStats
from .grouped import NoRowsError
from .inference import variance_lr_test
from .intercept_draws import random_intercept_draws
from .lmm import single_threaded_blas
from .membership import Membership, membership_from_table
from .results import ClmmResult, ConvergenceWarning, GlmerResult, LmerResult, MixedModelResult, SingularFitWarning

__all__ = ["lmer", "glmer", "clmm", "lmer_from_stats", "GroupStats", "ColumnTerms", "NoRowsError", "parse_formula",
           "ModelInputError", "FormulaError", "MixedModelResult", "LmerResult", "GlmerResult", "ClmmResult",
           "BootstrapResult", "single_threaded_blas", "SingularFitWarning", "ConvergenceWarning",
           "RankDeficiencyWarning", "SeparationWarning", "MissingGroupWarning", "variance_lr_test",
           "random_intercept_draws", "Membership", "membership_from_table", "CrossedSums", "CrossedFit",
           "crossed_fit"]
