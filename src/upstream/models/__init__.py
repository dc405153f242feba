"""Mixed models for ratings data with lme4's formula syntax: `lmer` (linear), `glmer`
(logistic, Laplace or adaptive quadrature) and `clmm` (cumulative logit, ordinal::clmm)."""
from .bootstrap import BootstrapResult
from .design import MissingGroupWarning, RankDeficiencyWarning
from .fit import lmer
from .formula import FormulaError, parse_formula
from .glmm import ClmmResult, GlmerResult, SeparationWarning, clmm, glmer
from .results import ConvergenceWarning, LmerResult, SingularFitWarning

__all__ = ["lmer", "glmer", "clmm", "parse_formula", "FormulaError", "LmerResult", "GlmerResult", "ClmmResult", "BootstrapResult",
           "SingularFitWarning", "ConvergenceWarning", "RankDeficiencyWarning", "SeparationWarning", "MissingGroupWarning"]
