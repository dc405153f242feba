"""Plain-language sentences computed from a study's numbers, for the Key findings sections: one module
per study, formatting helpers in ``common``. A sentence never states more than its numbers support:
each says what its condition is, and the tests check the condition that triggers it."""
from .agents import (
                     attribution_sentence,
                     mix_part_sentence,
                     policy_sentence,
                     policy_variation_sentences,
                     rank_shift_sentence,
                     tenure_sentence,
                     variance_sentence,
                     verdict_sentence,
)
from .channels import (
                     channel_response_sentences,
                     csat_channel_sentence,
                     duration,
                     metric_sentences,
                     speed_sentence,
                     volume_sentence,
)
from .common import pct, pct_interval
from .friction import (
                     cap_effect_sentence,
                     cap_sentence,
                     dose_sentence,
                     escalation_sentence,
                     nps_policy_sentence,
                     repeat_sentence,
                     words_sentence,
)
from .metric_health import (
                     NOT_RECORDED,
                     constant_repeats_sentence,
                     contact_metrics_sentence,
                     interactions_sentence,
                     interactions_title,
                     period_change_sentence,
                     period_title,
                     ranking_sentence,
                     resolution_sentence,
                     rushing_sentence,
                     short_scale_sentence,
                     speed_csat_sentence,
                     speed_quality_sentence,
)
from .qa_sample import allocation_sentence, plan_sentence, plan_title, priority_sentence, sample_sentence
from .scorecards import scorecard_sentences
from .sentiment import (
                     comment_coverage_sentence,
                     disagreement_sentence,
                     sentiment_agent_sentence,
                     too_few_comments_sentence,
                     validation_sentence,
)
from .survey import nps_sentence, response_sentences, screen_sentence, tipping_sentences, weighting_sentence
from .trends import (
                     UNCERTAIN,
                     VERDICTS,
                     decomposition_sentence,
                     decomposition_title,
                     raw_change_sentence,
                     short_scale_trend_sentence,
                     single_month_sentence,
                     trend_verdict_sentence,
                     weekly_sentence,
                     weekly_title,
)

__all__ = ["attribution_sentence", "pct", "pct_interval", "variance_sentence", "mix_part_sentence", "policy_sentence",
           "policy_variation_sentences", "verdict_sentence", "rank_shift_sentence", "tenure_sentence",
           "response_sentences", "nps_sentence", "screen_sentence", "weighting_sentence",
           "tipping_sentences", "scorecard_sentences", "constant_repeats_sentence",
           "volume_sentence", "speed_sentence", "csat_channel_sentence", "metric_sentences",
           "channel_response_sentences", "duration", "nps_policy_sentence", "repeat_sentence", "escalation_sentence",
           "cap_sentence", "dose_sentence", "cap_effect_sentence", "words_sentence", "comment_coverage_sentence",
           "validation_sentence", "sentiment_agent_sentence", "disagreement_sentence", "too_few_comments_sentence",
           "period_change_sentence", "period_title", "speed_quality_sentence", "speed_csat_sentence",
           "rushing_sentence", "ranking_sentence", "contact_metrics_sentence", "resolution_sentence",
           "interactions_sentence", "interactions_title", "NOT_RECORDED", "short_scale_sentence",
           "decomposition_sentence", "trend_verdict_sentence", "raw_change_sentence", "weekly_sentence",
           "decomposition_title", "weekly_title", "VERDICTS", "UNCERTAIN", "short_scale_trend_sentence",
           "single_month_sentence",
           "plan_sentence",
           "priority_sentence", "allocation_sentence", "sample_sentence", "plan_title"]
