"""Plots for study notebooks, one module per study. Each function returns a matplotlib Figure whose
title states the takeaway; figures are built without pyplot so a study can make them all at once."""
from .agents import caterpillar, level_effects, raw_vs_adjusted, variance_bars
from .channels import raw_and_adjusted, resolution_times
from .friction import credit_bands, outcome_effects
from .metric_health import daily_change, disagreement, interaction_curve, speed_quadrant
from .qa_sample import reliability_gain
from .scorecards import model_agreement, shrinkage
from .sentiment import agent_agreement, sentiment_by_score
from .survey import nps_groups, response_rates, screen_plot, weighting_shift
from .trends import decomposition_bars, weekly_scores

__all__ = ["caterpillar", "raw_vs_adjusted", "variance_bars", "level_effects", "response_rates", "nps_groups",
           "screen_plot", "weighting_shift", "shrinkage", "model_agreement", "raw_and_adjusted",
           "resolution_times", "outcome_effects", "credit_bands", "sentiment_by_score", "agent_agreement",
           "speed_quadrant", "daily_change", "disagreement", "interaction_curve",
           "weekly_scores", "decomposition_bars", "reliability_gain"]
