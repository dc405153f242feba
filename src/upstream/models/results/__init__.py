"""Fitted models: one base (`MixedModelResult`, base.py) for every fit, with the same tables,
random-effect summaries, health and text; `LmerResult` (lmer.py) and the latent-scale
`GlmerResult` / `ClmmResult` (latent.py) add what their family needs."""
from ..convergence import ConvergenceWarning, SingularFitWarning, warn_fit
from .base import MixedModelResult, RandomEffects, theta_names
from .latent import ClmmResult, GlmerResult, LatentResult, hessian_covariance, wald_table
from .lmer import DDF_METHODS, LmerResult, check_ddf

__all__ = ["MixedModelResult", "RandomEffects", "LmerResult", "GlmerResult", "ClmmResult", "LatentResult",
           "ConvergenceWarning", "SingularFitWarning", "warn_fit", "hessian_covariance", "wald_table",
           "DDF_METHODS", "check_ddf", "theta_names"]
