"""Mixed models for ratings data: `lmer` (linear), with lme4's formula syntax and results."""
from .fit import lmer
from .formula import FormulaError, parse_formula
from .results import ConvergenceWarning, LmerResult, SingularFitWarning
from .design import RankDeficiencyWarning

__all__ = ["lmer", "parse_formula", "FormulaError", "LmerResult", "SingularFitWarning",
           "ConvergenceWarning", "RankDeficiencyWarning"]
