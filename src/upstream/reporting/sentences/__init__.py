"""Plain-language sentences computed from a study's numbers, for the Key findings sections: one module
per study, formatting helpers in ``common``. A sentence never states more than its numbers support:
each says what its condition is, and the tests check the condition that triggers it."""
from .agents import (attribution_sentence, mix_part_sentence, policy_sentence, policy_variation_sentences, rank_shift_sentence,
                     tenure_sentence, variance_sentence, verdict_sentence)
from .common import pct, pct_interval
from .scorecards import scorecard_sentences
from .survey import (nps_sentence, response_sentences, screen_sentence, tipping_sentences,
                     weighting_sentence)

__all__ = ["attribution_sentence", "pct", "pct_interval", "variance_sentence", "mix_part_sentence", "policy_sentence",
           "policy_variation_sentences", "verdict_sentence", "rank_shift_sentence", "tenure_sentence",
           "response_sentences", "nps_sentence", "screen_sentence", "weighting_sentence",
           "tipping_sentences", "scorecard_sentences"]
