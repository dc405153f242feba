"""Plots for study notebooks, one module per study. Each function returns a matplotlib Figure whose
title states the takeaway; figures are built without pyplot so a study can make them all at once."""
from .agents import caterpillar, raw_vs_adjusted, variance_bars, level_effects
from .survey import response_rates, nps_groups, funnel, weighting_shift
from .scorecards import shrinkage, model_agreement
from .metric_health import speed_quadrant, daily_change, disagreement, interaction_curve
from .trends import weekly_scores, decomposition_bars
from .qa_sample import reliability_gain

__all__ = ["caterpillar", "raw_vs_adjusted", "variance_bars", "level_effects", "response_rates", "nps_groups", "funnel", "weighting_shift", "shrinkage", "model_agreement",
           "speed_quadrant", "daily_change", "disagreement", "interaction_curve",
           "weekly_scores", "decomposition_bars", "reliability_gain"]
